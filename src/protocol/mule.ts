// What the master hands a mule thread at spawn (workerData; src/master/mules.ts → src/worker/mule-entry.ts).
// Mules then speak the CONTROL and BG messages of worker.ts and background.ts.

export interface MuleBoot {
  muleId: number;
  /** absolute path of the mule program, '' for a generic mule */
  program: string;
  appPath: string;
  farms: string[];
  threadName: string;
  logLevel: string;
  logFormat: 'json' | 'pretty';
  logFd?: number;
  shared: unknown;
}
