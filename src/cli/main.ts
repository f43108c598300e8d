export async function main(argv: string[]): Promise<number> {
  console.error('spindle: not implemented yet', argv);
  return 1;
}
