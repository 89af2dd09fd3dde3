// Runs before every unit test file. Unit tests share the machine with a control plane and the
// integration project under `npm test` (two workers on two cores), where a test that takes 1 s
// alone can take several; Jest's 5 s default made them flaky. They assert on behaviour, never
// on time, so a generous bound costs nothing when they pass.
import { jest } from '@jest/globals';
import { quietLogs } from './logs.js';

jest.setTimeout(30_000);
quietLogs();
