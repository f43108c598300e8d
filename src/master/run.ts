// Entry point of the server proper, called by the CLI once the configuration is loaded and valid.
// Resolves with the process exit code. (Filled in by the serving work.)
export async function runServer(loaded: unknown): Promise<number> {
  void loaded;
  throw new Error('runServer: not implemented yet');
}
