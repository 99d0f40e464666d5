/**
 * The dashboard's client script: the one module the pages load
 * (`/ui/client.js`, bundled at runtime by `../bundle.ts` with the parsers
 * of `shared/config`). It only enhances: every page works without it, and
 * the server validates every save. It marks `<html data-client="ready">`
 * once it ran.
 *
 * @module
 */

import { browserDocument } from "./dom.ts";
import { enhanceEditors } from "./editor.ts";

const doc = browserDocument();
enhanceEditors(doc);
doc.documentElement.dataset.client = "ready";
