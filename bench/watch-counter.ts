// Counts objects of one kind in a namespace as they appear, by watch (cheaper and more precise
// than polling lists of thousands of objects), and remembers when each pod first reached a phase.
import { Watch, type KubeConfig } from '@kubernetes/client-node';

export class WatchCounter {
  readonly seen = new Map<string, number>();
  readonly phaseAt = new Map<string, Map<string, number>>();
  private abort?: AbortController;
  private stopped = false;

  constructor(
    private readonly kc: KubeConfig,
    private readonly path: string,
  ) {}

  async start(): Promise<void> {
    const watch = new Watch(this.kc);
    const begin = async (): Promise<void> => {
      if (this.stopped) return;
      this.abort = await watch.watch(
        this.path,
        { allowWatchBookmarks: false },
        (type: string, obj: { metadata?: { name?: string }; status?: { phase?: string } }) => {
          const name = obj.metadata?.name;
          if (!name || type === 'DELETED') return;
          if (!this.seen.has(name)) this.seen.set(name, Date.now());
          const phase = obj.status?.phase;
          if (phase) {
            let m = this.phaseAt.get(name);
            if (!m) this.phaseAt.set(name, (m = new Map()));
            if (!m.has(phase)) m.set(phase, Date.now());
          }
        },
        () => {
          // A broken watch restarts from scratch: ADDED events for everything, first times kept.
          if (!this.stopped) setTimeout(() => void begin().catch(() => undefined), 200);
        },
      );
    };
    await begin();
  }

  get count(): number {
    return this.seen.size;
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
  }
}
