/** Where CLI output goes; injected so commands can be run in-process by tests. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** What `exec` reads an interactive session from (process.stdin when left out). */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
}

export const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
};
