// The job folder (docs/adr/0018): where a job's /work lives on the site's storage and where the
// user finds it in UCloud. IM2 puts it at `<home or project member files>/Jobs/<app title>/<job id>`
// (FindJobFolderEx in provider-integration/im2/pkg/integrations/k8s/containers/00_module.go; the
// drive layout `home/<user>` and `projects/<project>/Members' Files/<user>` is DriveToLocalPath in
// .../k8s/filesystem/drive_locator.go). Here the site writes that layout as templates, expanded by
// this pure function. User name, project and app title are user-controlled: each must stay one path
// segment, so separators in a title are replaced and anything that cannot be made one segment is
// refused, never cleaned into a different path.
import { PathError, toSubPath } from './storage-paths.js';

export const TEMPLATE_VARS = ['user', 'project', 'appTitle', 'jobId'] as const;
export type TemplateVar = (typeof TEMPLATE_VARS)[number];
export type TemplateValues = Partial<Record<TemplateVar, string>>;

const PLACEHOLDER = /\{([^{}]*)\}/g;
const CONTROL = /\p{Cc}/u;

/** The placeholders a template uses; throws PathError for an unknown one or a stray brace. */
export function placeholdersOf(template: string): Set<TemplateVar> {
  const used = new Set<TemplateVar>();
  for (const [, name] of template.matchAll(PLACEHOLDER)) {
    if (!(TEMPLATE_VARS as readonly string[]).includes(name!))
      throw new PathError(`unknown placeholder {${name}} (known: ${TEMPLATE_VARS.map((v) => `{${v}}`).join(', ')})`);
    used.add(name as TemplateVar);
  }
  if (/[{}]/.test(template.replace(PLACEHOLDER, ''))) throw new PathError('unbalanced "{" or "}"');
  return used;
}

/**
 * A value as one path segment. IM2 refuses a user or project containing ".." or "/"
 * (InitializeMemberFiles, .../k8s/filesystem/member_files.go); so does this, and also "\",
 * control characters and empty values, which a path cannot hold honestly either.
 */
function segment(name: TemplateVar, value: string): string {
  if (value === '') throw new PathError(`{${name}} is empty`);
  if (value.includes('/') || value.includes('\\')) throw new PathError(`{${name}} contains a path separator`);
  if (value.includes('..')) throw new PathError(`{${name}} contains ".."`);
  if (CONTROL.test(value)) throw new PathError(`{${name}} contains control characters`);
  if (value === '.') throw new PathError(`{${name}} is "."`);
  return value;
}

/**
 * The application's title as a folder name. IM2 joins the title into the path as it is, so a "/"
 * in it would nest folders and a ".." climb; here separators and control characters become "_"
 * (a title is display text, so the folder still reads as the title), and what is still not a
 * segment ("", ".", "..") is refused.
 */
export function titleSegment(title: string): string {
  const cleaned = title.trim().replace(/[/\\]|\p{Cc}/gu, '_');
  if (cleaned === '' || cleaned === '.' || cleaned === '..') throw new PathError(`the application title ${JSON.stringify(title)} cannot name a folder`);
  return cleaned;
}

/**
 * Expands `{user}`, `{project}`, `{appTitle}` and `{jobId}`. Every value must be one segment (see
 * `segment`; pass the title through `titleSegment` first); a placeholder without a value is an
 * error. The result is not yet checked as a path: callers run it through `toSubPath`.
 */
export function expandTemplate(template: string, values: TemplateValues): string {
  placeholdersOf(template);
  return template.replace(PLACEHOLDER, (_m, name: TemplateVar) => {
    const value = values[name];
    if (value === undefined) throw new PathError(`{${name}} has no value for this job`);
    return segment(name, value);
  });
}

/** Where a job folder is: the path inside the volume (relative) and, if configured, in UCloud. */
export interface JobFolderPaths {
  /** Relative to the volume root; for per-drive claims its first segment is the drive. */
  volumePath: string;
  /** Absolute UCloud path, reported to UCloud/Core as the job's outputFolder. */
  ucloudPath?: string;
}

export interface JobFolderTemplates {
  volumePath: { home: string; project: string };
  ucloudPath?: { home: string; project: string } | undefined;
}

/** The job folder of one job: the home or the project templates, expanded and checked as paths. */
export function jobFolderPaths(templates: JobFolderTemplates, values: TemplateValues): JobFolderPaths {
  const which = values.project !== undefined ? 'project' : 'home';
  const volumePath = toSubPath(`/${expandTemplate(templates.volumePath[which], values)}`);
  if (!templates.ucloudPath) return { volumePath };
  const ucloudPath = `/${toSubPath(expandTemplate(templates.ucloudPath[which], values))}`;
  return { volumePath, ucloudPath };
}

/**
 * Why a configured template cannot work, or undefined: expanded with sample values it must be a
 * valid path (relative for the volume, absolute for UCloud), name the job (`{jobId}`: two jobs
 * must never share a folder and its stdout logs), and a home template cannot use `{project}`.
 */
export function templateProblem(template: string, kind: 'home' | 'project', absolute: boolean): string | undefined {
  try {
    const used = placeholdersOf(template);
    if (!used.has('jobId')) return 'must contain {jobId}: two jobs must never share a folder';
    if (kind === 'home' && used.has('project')) return 'a home template cannot use {project}';
    if (absolute !== template.startsWith('/')) return absolute ? 'must be an absolute UCloud path' : 'must be relative to the volume root';
    const sample = expandTemplate(template, { user: 'user', project: 'project', appTitle: 'App', jobId: '1' });
    toSubPath(absolute ? sample : `/${sample}`);
    return undefined;
  } catch (e) {
    if (e instanceof PathError) return e.message;
    throw e;
  }
}
