// Trace v1: reading (line-numbered, field-named errors) and writing (the normalised form).
export * from './types.ts';
export { TraceError } from './fields.ts';
export { readTrace, readTraceBatches, readLineBatches, parseLine, readRecord } from './read.ts';
export { recordToJson, recordToLine, hypercallToJson, flagsToJson, hex, type Json } from './write.ts';
export { checkExpect, expectToJson, readExpect, EXPECT_KEYS, type ExpectCheck } from './expect.ts';
