/** `abe-clip/eval`: data sets, the pair runner, reports and metrics. */
export { loadDataset, DATASET_KINDS } from './datasets';
export type { DatasetKind } from './datasets';
export { runPairs } from './runner';
export { summarise } from './report';
export { writeReport } from './write';
export { ModelScorer } from './scoring';
export { accuracy, mcnemarExact, splitHalf, recallAtK } from './metrics';
