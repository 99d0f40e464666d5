/**
 * Parsing config content: {@linkcode parseContent} turns an element's raw
 * text into its value by content type (JSON, YAML, TOML, INI, Java
 * properties; plain text as is), or into a message with a 1-based line and
 * column; {@linkcode locateJsonError} and {@linkcode parseProperties} are
 * its JSON and properties parts. The content types and the raw-text rules
 * are the config layout's (`shared/config`).
 *
 * Its own module because of its parsers (npm:yaml, npm:smol-toml, npm:ini):
 * cassemadm validates with them and the SDK parses with them, while
 * cassemagent serves raw text and never loads them (0.7 MiB of JS heap, the
 * RSS within noise: `bench/import_rss.ts`, `bench/README.md`). `parse_content.ts` imports no schema library, so the
 * SDK and the dashboard's browser script import that file itself.
 *
 * @module
 */

export * from "./parse_content.ts";
export { type JsonSyntaxError, locateJsonError } from "./json_locate.ts";
export {
  parseProperties,
  type PropertiesResult,
  type PropertiesSyntaxError,
} from "./properties.ts";
