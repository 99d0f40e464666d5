/**
 * The route groups of the element side of adm (elements, versions,
 * publish, gray, approvals, import/export), mounted by `createApp` after
 * the groups of `app.ts`. A separate list, so that the element routes are
 * added here without touching the rest of the app.
 *
 * @module
 */

import type { RouteGroup } from "./route_group.ts";

/** The element route groups, in mounting order. */
export const ELEMENT_ROUTE_GROUPS: readonly RouteGroup[] = [];
