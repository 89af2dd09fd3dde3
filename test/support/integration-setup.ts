// Runs before every integration test file. Jest 30 ignores `testTimeout` inside a project entry
// of jest.config.js (it is a global option), so integration tests ran with the 5 s default; this
// gives them the two minutes a real control plane on a loaded CI machine may need.
import { jest } from '@jest/globals';
import { quietLogs } from './logs.js';

jest.setTimeout(120_000);
quietLogs();
