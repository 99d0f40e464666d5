/**
 * Where a JSON text stops being JSON. `JSON.parse` gives the value, but its
 * messages only sometimes carry a position; this strict RFC 8259 scanner
 * finds the first offending character so that errors name a line and a
 * column. Pure.
 *
 * @module
 */

/** The first error in a text that is not JSON: a message and its UTF-16 offset. */
export interface JsonSyntaxError {
  /** What is wrong, e.g. `expected ',' or '}' after a property value`. */
  readonly message: string;
  /** UTF-16 offset of the offending character (the text's length at its end). */
  readonly offset: number;
}

class Stop {
  constructor(readonly message: string, readonly offset: number) {}
}

/**
 * The first syntax error of `text` as JSON (RFC 8259), or `undefined` when
 * it is valid JSON.
 */
export function locateJsonError(text: string): JsonSyntaxError | undefined {
  let i = 0;
  const n = text.length;
  const describe = (at: number) => at >= n ? "the end of the text" : `${JSON.stringify(text[at])}`;
  const fail = (expected: string): never => {
    throw new Stop(`expected ${expected} but found ${describe(i)}`, i);
  };
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  const literal = (word: string) => {
    for (let k = 0; k < word.length; k++) {
      if (text[i] !== word[k]) fail(`"${word}"`);
      i++;
    }
  };
  const digits = (what: string) => {
    const start = i;
    while (i < n && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) i++;
    if (i === start) fail(what);
  };
  const number = () => {
    if (text[i] === "-") i++;
    if (text[i] === "0") i++;
    else digits("a digit");
    if (text[i] === ".") {
      i++;
      digits("a digit after the decimal point");
    }
    if (text[i] === "e" || text[i] === "E") {
      i++;
      if (text[i] === "+" || text[i] === "-") i++;
      digits("a digit in the exponent");
    }
  };
  const string = () => {
    i++; // the opening quote
    for (;;) {
      if (i >= n) fail("a closing '\"'");
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) throw new Stop("control characters must be escaped in a string", i);
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
            throw new Stop("a \\u escape needs four hex digits", i);
          }
          i += 6;
        } else if (e !== undefined && `"\\/bfnrt`.includes(e)) {
          i += 2;
        } else {
          throw new Stop(`invalid escape ${JSON.stringify("\\" + (e ?? ""))}`, i);
        }
        continue;
      }
      i++;
    }
  };
  const value = (depth: number): void => {
    if (depth > 512) throw new Stop("nesting deeper than 512 levels", i);
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("a property name in double quotes");
        string();
        ws();
        if (text[i] !== ":") fail("':' after a property name");
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return;
        }
        fail("',' or '}' after a property value");
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (;;) {
        value(depth + 1);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return;
        }
        fail("',' or ']' after an array element");
      }
    }
    if (c === '"') return string();
    if (c === "t") return literal("true");
    if (c === "f") return literal("false");
    if (c === "n") return literal("null");
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return number();
    fail("a value");
  };
  try {
    value(0);
    ws();
    if (i < n) fail("the end of the text after the value");
    return undefined;
  } catch (e) {
    if (e instanceof Stop) return { message: e.message, offset: e.offset };
    throw e;
  }
}
