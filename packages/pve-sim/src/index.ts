// @nanny/pve-sim: a Proxmox VE simulator (see README.md).
export type {
  SimState,
  ClusterState,
  NodeState,
  GuestState,
  GuestKind,
  ClockMode,
  NodeView,
} from './model.ts';
export { viewOf } from './model.ts';
export type { SimEvent, GuestRef } from './events.ts';
export { EVENT_TYPES, PVESH_STARTUP_MS } from './events.ts';
export type { Scenario, ScenarioCluster, ScenarioNode, ScenarioGuest } from './generate.ts';
export { buildState, scenarioFromFlags, DEFAULT_EPOCH, DEFAULT_TOKEN } from './generate.ts';
export {
  createLayout,
  openLayout,
  layoutFromFlags,
  defaultToolsBundle,
  type Simulator,
  type NodePaths,
  type LayoutOptions,
} from './sim.ts';
export { apiGet, type ApiResult } from './api.ts';
export { canonicalJson, prettyJson } from './json.ts';
export type { ToolOutput } from './tools.ts';
export { startServers, checkAuth, type Servers, type ServedNode } from './https.ts';
