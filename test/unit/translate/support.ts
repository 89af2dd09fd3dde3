// The TranslationError jobToSpec throws for a job, for tests about refusals.
import type { OperatorConfig } from '../../../src/config.js';
import { jobToSpec, TranslationError } from '../../../src/translate/job-to-spec.js';
import type { Job } from '../../../src/ucloud/job.js';

export function translationError(job: Job, cfg: OperatorConfig): TranslationError {
  try {
    jobToSpec(job, cfg);
  } catch (e) {
    if (e instanceof TranslationError) return e;
    throw e;
  }
  throw new Error('expected a TranslationError');
}
