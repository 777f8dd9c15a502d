export { runAdapterConformance, errorCode, CONFORMANCE_TABLES } from './adapter-conformance.js';
export type { AdapterConformanceSpec, ConformanceOps, ConformanceItem } from './adapter-conformance.js';
