/**
 * A service's log file under `<data>/logs/`: every line the service prints,
 * appended as it arrives; when the file passes {@linkcode MAX_LOG_BYTES} it
 * becomes `<name>.log.1` (replacing the previous one) and a new file starts,
 * so a long-running stack keeps at most twice that per service.
 *
 * @module
 */

/** The size at which a log file is rotated. */
export const MAX_LOG_BYTES = 16 * 1024 * 1024;

/** An open, rotating log file. */
export class LogFile {
  /** Its path. */
  readonly path: string;
  readonly #max: number;
  #file: Deno.FsFile;
  #size: number;
  readonly #enc = new TextEncoder();

  private constructor(path: string, file: Deno.FsFile, size: number, max: number) {
    this.path = path;
    this.#file = file;
    this.#size = size;
    this.#max = max;
  }

  /**
   * Opens (creating) `path` for appending; `max` is the rotation size
   * (default {@linkcode MAX_LOG_BYTES}).
   */
  static open(path: string, max = MAX_LOG_BYTES): LogFile {
    const file = Deno.openSync(path, { append: true, create: true });
    return new LogFile(path, file, file.statSync().size, max);
  }

  /** Appends `line` and a newline (rotating first when the file is full). */
  write(line: string): void {
    const bytes = this.#enc.encode(line + "\n");
    if (this.#size > 0 && this.#size + bytes.length > this.#max) this.#rotate();
    let done = 0;
    while (done < bytes.length) done += this.#file.writeSync(bytes.subarray(done));
    this.#size += bytes.length;
  }

  /** Closes the file; safe to call twice. */
  close(): void {
    try {
      this.#file.close();
    } catch { /* closed */ }
  }

  #rotate(): void {
    this.#file.close();
    Deno.renameSync(this.path, `${this.path}.1`);
    this.#file = Deno.openSync(this.path, { append: true, create: true });
    this.#size = 0;
  }
}
