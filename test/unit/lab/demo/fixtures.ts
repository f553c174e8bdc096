import type { FrameState, ReportInput } from '../../../../src/lab/demo/report.js';
import type { PhaseResult } from '../../../../src/lab/demo/scenario.js';

/** A phase's result as the demo records it; `extra` overrides any field. */
export const phaseResult = (name: string, extra: Partial<PhaseResult> = {}): PhaseResult => ({
  name,
  graceful: true,
  keepsSessions: true,
  newHaproxy: false,
  startedAt: 1_000,
  endedAt: 2_000,
  requests: 100,
  failed: 0,
  errors: [],
  p50: 0.7,
  p99: 5.25,
  haproxyProcesses: 0,
  convergeMs: 1_500,
  sessions: { users: 8, kept: 8, renewed: 0, movedFrom: [] },
  ...extra,
});

/** The live frame's state on the local cluster; `extra` overrides any field. */
export const frameState = (extra: Partial<FrameState> = {}): FrameState => ({
  label: 'local cluster',
  frontendUrl: 'http://127.0.0.1:8080',
  elapsedMs: 1_000,
  phase: 'scale 1 → 5',
  servers: [],
  totalRate: 0,
  requests: 0,
  failed: 0,
  process: '1@1',
  commands: [],
  ...extra,
});

/** The HTML report's input for a local run; `extra` gives what a test looks at. */
export const reportInput = (extra: Partial<ReportInput> = {}): ReportInput => ({
  title: 'demo',
  label: 'local',
  convergeClock: 'the change',
  startedAt: 0,
  samples: [],
  outcomes: [],
  results: [],
  problems: [],
  ...extra,
});
