/**
 * A reader of the Prometheus text exposition format (version 0.0.4), for
 * tests and tools that scrape a cassem service's `/metrics`: every sample
 * with its labels, and the `# TYPE` of each family.
 *
 * ```ts
 * const m = parsePrometheusText(await (await fetch(url)).text());
 * m.value("cassemdb_raft_term");                                    // one sample
 * m.sum("http_requests_total", { route: "/api/apps", status: "200" }); // over matching samples
 * ```
 *
 * @module
 */

/** One sample: a series name, its labels and its value. */
export interface Sample {
  /** The series name (`http_requests_total`, `x_bucket`, `x_sum`, ...). */
  readonly name: string;
  /** Its labels. */
  readonly labels: Readonly<Record<string, string>>;
  /** Its value (`NaN`, `+Inf` and `-Inf` included). */
  readonly value: number;
}

/** Everything one scrape held. */
export class Scrape {
  /** Every sample, in order. */
  readonly samples: readonly Sample[];
  /** The `# TYPE` of each family (`counter`, `gauge`, `histogram`, ...). */
  readonly types: ReadonlyMap<string, string>;

  /** A scrape of `samples` with `types`. */
  constructor(samples: readonly Sample[], types: ReadonlyMap<string, string>) {
    this.samples = samples;
    this.types = types;
  }

  /** The samples of series `name` whose labels include every one of `labels`. */
  find(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.samples.filter((s) =>
      s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
    );
  }

  /** The sum of {@linkcode find}'s samples (0 when none match). */
  sum(name: string, labels: Record<string, string> = {}): number {
    return this.find(name, labels).reduce((a, s) => a + s.value, 0);
  }

  /**
   * The value of the one sample of `name` matching `labels`.
   * @throws {RangeError} when none or several match.
   */
  value(name: string, labels: Record<string, string> = {}): number {
    const found = this.find(name, labels);
    if (found.length !== 1) {
      throw new RangeError(
        `Cannot read ${name}${
          JSON.stringify(labels)
        } as exactly one sample must match: current count is ${found.length}`,
      );
    }
    return found[0]!.value;
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

/**
 * Parses `text`.
 * @throws {SyntaxError} naming the line number and the line when one is malformed.
 */
export function parsePrometheusText(text: string): Scrape {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "") return;
    const bad = (why: string) =>
      new SyntaxError(
        `Cannot parse line ${i + 1} of the metrics as ${why}: current line is ${raw}`,
      );
    if (line.startsWith("#")) {
      const m = /^#\s*TYPE\s+(\S+)\s+(\S+)$/.exec(line);
      if (m) types.set(m[1]!, m[2]!);
      return;
    }
    const name = NAME.exec(line)?.[0];
    if (!name) throw bad("it must start with a metric name");
    let rest = line.slice(name.length);
    const labels: Record<string, string> = {};
    if (rest.startsWith("{")) {
      let j = 1;
      for (;;) {
        while (rest[j] === " " || rest[j] === ",") j++;
        if (rest[j] === "}") break;
        const key = NAME.exec(rest.slice(j))?.[0];
        if (!key || rest[j + key.length] !== "=" || rest[j + key.length + 1] !== '"') {
          throw bad('each label must be name="value"');
        }
        j += key.length + 2;
        let value = "";
        for (; j < rest.length && rest[j] !== '"'; j++) {
          if (rest[j] === "\\") {
            const c = rest[++j];
            value += c === "n" ? "\n" : c;
          } else value += rest[j];
        }
        if (j >= rest.length) throw bad("a label value is not closed");
        labels[key] = value;
        j++;
      }
      rest = rest.slice(j + 1);
    }
    const parts = rest.trim().split(/\s+/);
    const value = Number(
      parts[0] === "+Inf" ? Infinity : parts[0] === "-Inf" ? -Infinity : parts[0],
    );
    if (parts[0] === undefined || parts[0] === "" || (Number.isNaN(value) && parts[0] !== "NaN")) {
      throw bad("its value must be a number");
    }
    samples.push({ name, labels, value });
  });
  return new Scrape(samples, types);
}
