// The storage contract and its validating layer; each driver is imported from its own subpath.
export * from './driver.ts';
export * from './log-store.ts';
