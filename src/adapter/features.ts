// What this provider really implements for container jobs, in one place: retrieveProducts
// advertises exactly these flags, and the calls behind a false flag answer with a 4xx
// (interactiveSession for web/vnc/terminal). Flip a flag only together with the code that serves
// it: UCloud shows users what is claimed here.
//   logs         follow over /ucloud/jobs.provider.{id}/websocket (follow/*)
//   terminal     SHELL sessions + /ucloud/{id}/websocket (sessions/*); only when the adapter has
//                a session store and an exec port, which the operator always wires
//   utilization  retrieveUtilization (utilization.ts)
//   web, vnc     WEB/VNC sessions through an Ingress per rank (sessions/web.ts); only when the
//                site configures it (interactive.web), since the site must put auth in front
export const SUPPORTED_FEATURES = {
  web: true,
  vnc: true,
  logs: true,
  terminal: true,
  peers: true,
  timeExtension: true,
  utilization: true,
} as const;

export type DockerFeatures = { -readonly [K in keyof typeof SUPPORTED_FEATURES]: boolean };

/** The flags of an adapter: SUPPORTED_FEATURES minus what this instance was built without. */
export function adapterFeatures(wired: { follow: boolean; shell: boolean; web: boolean }): DockerFeatures {
  return {
    ...SUPPORTED_FEATURES,
    logs: SUPPORTED_FEATURES.logs && wired.follow,
    terminal: SUPPORTED_FEATURES.terminal && wired.shell,
    web: SUPPORTED_FEATURES.web && wired.web,
    vnc: SUPPORTED_FEATURES.vnc && wired.web,
  };
}
