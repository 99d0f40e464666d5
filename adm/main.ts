/**
 * cassemadm entrypoint: `deno task adm --help`. Serves `createApp` with
 * `Deno.serve` on `--listen`, on a `DbClient` to `--db`. It keeps no state:
 * run as many copies as you like and kill any at any time.
 *
 * On start it creates the `admin` account if cassemdb is empty
 * (`auth/bootstrap.ts`), retrying while cassemdb is unreachable (requests
 * get 503 meanwhile). It prints `cassemadm listening on http://HOST:PORT`
 * to stdout once it serves, and a generated admin password once to stderr.
 *
 * @module
 */

import { parseKeyring } from "../shared/config/mod.ts";
import type { Keyring } from "../shared/config/mod.ts";
import { DbClient } from "../shared/db/mod.ts";
import { createLogger, type Logger, resolveLogFormat } from "../shared/log.ts";
import { instrumentKvClient } from "../shared/metrics/mod.ts";
import { currentRequestId } from "../shared/request_context.ts";
import { createApp } from "./app.ts";
import { bootstrapAdmin } from "./auth/bootstrap.ts";
import { type AdmDeps, DEFAULT_CONFIG } from "./deps.ts";
import { toAdmError, UnavailableError } from "./errors.ts";
import { FlagError, parseAdmFlags, USAGE } from "./flags.ts";
import { AdmMetrics } from "./http/metrics.ts";
import { probeApp } from "./routes/health.ts";

function fail(message: string): never {
  console.error(`cassemadm: ${message}`);
  Deno.exit(2);
}

async function loadKeyring(file: string | undefined, log: Logger): Promise<Keyring | undefined> {
  if (file !== undefined) {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      fail(
        `Cannot read --secret-key-file as ${JSON.stringify(file)} is unreadable: ${
          (e as Error).message
        }`,
      );
    }
    return await parseKeyring(text, `--secret-key-file ${file}`);
  }
  const env = Deno.env.get("CASSEM_SECRET_KEY");
  if (env !== undefined && env.trim() !== "") return await parseKeyring(env, "CASSEM_SECRET_KEY");
  log.info("no secret key (--secret-key-file or CASSEM_SECRET_KEY): secret elements are refused");
  return undefined;
}

/** Creates the admin account on first start, retrying while cassemdb is unreachable. */
async function bootstrap(deps: AdmDeps, endpoints: string[], stop: AbortSignal): Promise<void> {
  const password = Deno.env.get("CASSEM_ADMIN_PASSWORD");
  let lastSaid = 0;
  while (!stop.aborted) {
    try {
      const r = await bootstrapAdmin(deps, password === "" ? undefined : password);
      if (r.created && r.generatedPassword !== undefined) {
        console.error(
          `cassemadm: created the admin account with the generated password ${r.generatedPassword}` +
            ` (shown once: log in and change it)`,
        );
      } else if (r.created) {
        deps.logger.info("created the admin account with the password of CASSEM_ADMIN_PASSWORD");
      } else {
        deps.logger.info("bootstrap done before (by this or another copy): no account created");
      }
      return;
    } catch (e) {
      // cassemdb out of reach, or a commit whose outcome stayed unknown: both are 503s, retried.
      if (!(toAdmError(e) instanceof UnavailableError)) throw e;
      if (Date.now() - lastSaid > 10_000) {
        deps.logger.warn(
          `cannot reach cassemdb at ${endpoints.join(",")}: retrying; requests get 503 meanwhile`,
        );
        lastSaid = Date.now();
      }
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}

async function main(): Promise<void> {
  let flags;
  try {
    flags = parseAdmFlags(Deno.args);
  } catch (e) {
    if (e instanceof FlagError) fail(e.message);
    throw e;
  }
  if (flags.help) {
    console.log(USAGE);
    return;
  }
  const logger = createLogger("adm", flags.logLevel, {
    format: resolveLogFormat(flags.logFormat),
  });
  let keyring: Keyring | undefined;
  try {
    keyring = await loadKeyring(flags.secretKeyFile, logger);
  } catch (e) {
    fail((e as Error).message);
  }
  const metrics = new AdmMetrics({ processMetrics: true });
  // Every cassemdb call counted, and sent with the id of the request it is made for.
  const db = instrumentKvClient(new DbClient({ endpoints: flags.db }), {
    metrics: metrics.db,
    requestId: currentRequestId,
  });
  const deps: AdmDeps = {
    db,
    clock: Date.now,
    logger,
    keyring,
    config: { ...DEFAULT_CONFIG },
    metrics,
  };
  const app = createApp(deps, { serveMetrics: flags.metricsListen === undefined });
  const stop = new AbortController();
  const server = listen(
    "--listen",
    flags.listen,
    stop.signal,
    app.fetch,
    (addr) => console.log(`cassemadm listening on http://${addr.hostname}:${addr.port}`),
  );
  if (flags.metricsListen) {
    const probes = probeApp(deps, metrics);
    listen(
      "--metrics-listen",
      flags.metricsListen,
      stop.signal,
      probes.fetch,
      (addr) => console.log(`cassemadm metrics on http://${addr.hostname}:${addr.port}/metrics`),
    );
  }
  // Stop taking requests, let the ones in flight finish, then exit without
  // closing the gRPC channels: a graceful HTTP/2 close (GOAWAY) can crash the
  // Deno runtime of the cassemdb node at the other end (denoland/deno#36788,
  // tests/db/README.md); the kernel closing the sockets does not.
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  bootstrap(deps, flags.db, stop.signal).catch((e) => {
    logger.error("cannot create the admin account", { error: String(e) });
  });
  await server.finished;
  Deno.exit(0);
}

/** Serves `handler` on `addr` (the value of `flag`), or exits naming the flag. */
function listen(
  flag: string,
  addr: { hostname: string; port: number; text: string },
  signal: AbortSignal,
  handler: Deno.ServeHandler<Deno.NetAddr>,
  onListen: (addr: Deno.NetAddr) => void,
): Deno.HttpServer<Deno.NetAddr> {
  try {
    return Deno.serve({ hostname: addr.hostname, port: addr.port, signal, onListen }, handler);
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) {
      fail(`Cannot listen on ${flag} ${addr.text} as the address is in use`);
    }
    if (e instanceof Deno.errors.AddrNotAvailable || e instanceof Deno.errors.PermissionDenied) {
      fail(`Cannot listen on ${flag} ${addr.text}: ${(e as Error).message}`);
    }
    throw e;
  }
}

if (import.meta.main) await main();
