// Test vectors from RFC 8785 (JSON Canonicalization Scheme), quoted as published.

/** RFC 8785 §3.2.2: the sample input, and its canonical form as given in §3.2.4 (whose UTF-8 bytes it lists). */
export const PRIMITIVES_INPUT = String.raw`{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`;
export const PRIMITIVES_OUTPUT =
  '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
  String.raw`"string":"€$\u000f\nA'B\"\\\\\"/"}`;

/**
 * RFC 8785 §3.2.3: property names sort by their UTF-16 code units, so the emoji (surrogates D83D DE00)
 * comes before U+FB33 although its code point is larger.
 */
export const SORTING_INPUT = String.raw`{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}`;
/** SORTING_INPUT canonicalized: the members in the order §3.2.3 lists them (U+0080 and above are not escaped). */
export const SORTING_OUTPUT =
  '{"\\r":"Carriage Return","1":"One","\u0080":"Control",' +
  '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",' +
  '"\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}';

/** RFC 8785 Appendix B: IEEE 754 binary64 bit patterns (hex) and their canonical text; null marks "error". */
export const NUMBER_TABLE: [string, string | null][] = [
  ['0000000000000000', '0'],
  ['8000000000000000', '0'], // minus zero
  ['0000000000000001', '5e-324'],
  ['8000000000000001', '-5e-324'],
  ['7fefffffffffffff', '1.7976931348623157e+308'],
  ['ffefffffffffffff', '-1.7976931348623157e+308'],
  ['4340000000000000', '9007199254740992'],
  ['c340000000000000', '-9007199254740992'],
  ['4430000000000000', '295147905179352830000'],
  ['7fffffffffffffff', null], // NaN
  ['7ff0000000000000', null], // Infinity
  ['44b52d02c7e14af5', '9.999999999999997e+22'],
  ['44b52d02c7e14af6', '1e+23'],
  ['44b52d02c7e14af7', '1.0000000000000001e+23'],
  ['444b1ae4d6e2ef4e', '999999999999999700000'],
  ['444b1ae4d6e2ef4f', '999999999999999900000'],
  ['444b1ae4d6e2ef50', '1e+21'],
  ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
  ['3eb0c6f7a0b5ed8d', '0.000001'],
  ['41b3de4355555553', '333333333.3333332'],
  ['41b3de4355555554', '333333333.33333325'],
  ['41b3de4355555555', '333333333.3333333'],
  ['41b3de4355555556', '333333333.3333334'],
  ['41b3de4355555557', '333333333.33333343'],
  ['becbf647612f3696', '-0.0000033333333333333333'],
  ['43143ff3c1cb0959', '1424953923781206.2'],
];

/** The binary64 value of a 16-hex-digit bit pattern. */
export function float64(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}
