/**
 * The route groups of the element side of adm (elements, versions,
 * publish, gray, approvals, import/export), mounted by `createApp` after
 * the groups of `app.ts`. A separate list, so that the element routes are
 * added here without touching the rest of the app.
 *
 * @module
 */

import { approvalsRoutes } from "./approvals.ts";
import { elementReleaseRoutes } from "./element_release.ts";
import { elementVersionsRoutes } from "./element_versions.ts";
import { elementsRoutes } from "./elements.ts";
import type { RouteGroup } from "./route_group.ts";
import { transferRoutes } from "./transfer.ts";

const ELEMENTS = "/apps/:app/envs/:env/elements";

/** The element route groups, in mounting order. */
export const ELEMENT_ROUTE_GROUPS: readonly RouteGroup[] = [
  { base: ELEMENTS, build: elementsRoutes },
  { base: ELEMENTS, build: elementVersionsRoutes },
  { base: ELEMENTS, build: elementReleaseRoutes },
  { base: "/apps/:app/envs/:env/approvals", build: approvalsRoutes },
  { base: "/apps/:app/envs/:env", build: transferRoutes },
];
