/**
 * The content types an element can have ({@linkcode CONTENT_TYPES}, the
 * MIME table, the raw-text rule, `positionAt`: all of `content_rules.ts`,
 * re-exported) and the zod schema of a content type, for the record schemas.
 *
 * @module
 */

import { z } from "zod";
import { CONTENT_TYPES, type ContentType } from "./content_rules.ts";

export * from "./content_rules.ts";

/** zod schema of a content type. */
export const ContentTypeSchema: z.ZodEnum<{ [K in ContentType]: K }> = z.enum(CONTENT_TYPES);
