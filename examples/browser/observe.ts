// The demo's timeline is the log itself: a store driver that tells what each append made durable, the moment the
// store says so. It sits between the store and the fence (fence.ts), so an append that lands just as its gateway
// crashes is still shown: it is on disk, and the next incarnation will find it there.
import type { LogEntry } from '../../kernel/entry.ts';
import type { LogStoreDriver } from '../../storage/driver.ts';

export function observeDriver(d: LogStoreDriver, appended: (entries: LogEntry[]) => void): LogStoreDriver {
  return {
    name: d.name,
    capabilities: d.capabilities,
    head: (logId) => d.head(logId),
    async append(logId, expected, texts, next) {
      await d.append(logId, expected, texts, next);
      // The texts were validated by the LogStore before they reached the driver.
      appended(texts.map((t) => JSON.parse(t) as LogEntry));
    },
    read: (logId, from, to) => d.read(logId, from, to),
    openLogs: () => d.openLogs(),
    close: () => d.close(),
  };
}
