/** The lab's subcommands, which src/main.ts adds to the agent's. */
import type { Cli } from '../../cli/main.js';
import { ClusterError } from '../cluster/converge.js';
import { cluster, clusterSpec } from './cluster.js';
import { demo, demoSpec } from './demo.js';

export const labCli: Cli = {
  subcommands: [
    { spec: clusterSpec, run: cluster },
    { spec: demoSpec, run: demo },
  ],
  codedErrors: [ClusterError],
};
