// What the gateway command line says of a set of arguments: 'parsed', or the message of the error it throws.
import { parseGatewayArgs } from '../../cli/gateway-cli.ts';

export function gatewayArgsError(args: string[]): string {
  try {
    parseGatewayArgs(args);
    return 'parsed';
  } catch (err) {
    return (err as Error).message;
  }
}
