// What this provider really implements for container jobs, in one place: retrieveProducts
// advertises exactly these flags, and the calls behind a false flag answer with a 4xx
// (interactiveSession for web/vnc/terminal). Flip a flag only together with the code that serves
// it: UCloud shows users what is claimed here.
//   logs         follow over /ucloud/jobs.provider.{id}/websocket (follow/*)
//   terminal     SHELL sessions + /ucloud/{id}/websocket (sessions/*); only when the adapter has
//                a session store and an exec port, which the operator always wires
//   utilization  retrieveUtilization (utilization.ts)
//   web, vnc     not implemented: no ingress/proxy for application ports yet
export const SUPPORTED_FEATURES = {
  web: false,
  vnc: false,
  logs: true,
  terminal: true,
  peers: true,
  timeExtension: true,
  utilization: true,
} as const;

export type DockerFeatures = { -readonly [K in keyof typeof SUPPORTED_FEATURES]: boolean };

/** The flags of an adapter: SUPPORTED_FEATURES minus what this instance was built without. */
export function adapterFeatures(wired: { follow: boolean; shell: boolean }): DockerFeatures {
  return { ...SUPPORTED_FEATURES, logs: SUPPORTED_FEATURES.logs && wired.follow, terminal: SUPPORTED_FEATURES.terminal && wired.shell };
}
