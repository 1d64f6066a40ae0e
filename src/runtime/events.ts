// Kubernetes Events (events.k8s.io/v1). A repeat of the same event on the same object within the
// series window updates one Event's series count instead of creating a new object, as client-go's
// event broadcaster does. Records of the same event run one after the other, so that two at once
// make one series and not two Events. Recording never fails a reconcile: errors are logged.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { type Clock, systemClock } from './clock.ts';
import { isNotFound, type KubeClient, type KubeObject, Resources } from './kube-client.ts';

export type EventType = 'Normal' | 'Warning';

const SERIES_WINDOW_MS = 6 * 60_000;
const MAX_TRACKED = 4096;

interface Seen {
  name: string;
  namespace: string;
  count: number;
  lastMs: number;
}

export class EventRecorder {
  private readonly seen = new Map<string, Seen>();
  /** By event key: the last record still being written. */
  private readonly writing = new Map<string, Promise<void>>();
  private readonly client: KubeClient;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly instance: string;

  constructor(client: KubeClient, log: Logger, clock: Clock = systemClock, instance = hostname()) {
    this.client = client;
    this.log = log;
    this.clock = clock;
    this.instance = instance;
  }

  /** Records an event about `regarding`; resolves when written (or logged as failed). */
  record(
    regarding: KubeObject,
    type: EventType,
    reason: string,
    note: string,
    action = reason,
  ): Promise<void> {
    const key = [regarding.metadata.uid, type, reason, note].join('\u0000');
    const done = (this.writing.get(key) ?? Promise.resolve()).then(() =>
      this.write(key, regarding, type, reason, note, action),
    );
    this.writing.set(key, done);
    void done.then(() => {
      if (this.writing.get(key) === done) this.writing.delete(key);
    });
    return done;
  }

  private async write(
    key: string,
    regarding: KubeObject,
    type: EventType,
    reason: string,
    note: string,
    action: string,
  ): Promise<void> {
    const meta = regarding.metadata;
    const namespace = meta.namespace ?? 'default';
    const now = this.clock.now();
    const eventTime = new Date(now).toISOString().replace('Z', '000Z');
    const prior = this.seen.get(key);
    try {
      if (prior && now - prior.lastMs < SERIES_WINDOW_MS) {
        prior.count++;
        prior.lastMs = now;
        this.seen.delete(key);
        this.seen.set(key, prior); // most recently used last
        try {
          await this.client.mergePatch(Resources.events, prior.namespace, prior.name, {
            series: { count: prior.count, lastObservedTime: eventTime },
          });
          return;
        } catch (e) {
          if (!isNotFound(e)) throw e; // the Event expired: write a new one below
        }
      }
      const name = `${meta.name}.${randomBytes(8).toString('hex')}`;
      await this.client.create(Resources.events, {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name, namespace },
        eventTime,
        reportingController: 'bosun.dev/operator',
        reportingInstance: this.instance,
        action,
        reason,
        note: note.slice(0, 1024),
        type,
        regarding: {
          apiVersion: regarding.apiVersion,
          kind: regarding.kind,
          name: meta.name,
          namespace: meta.namespace,
          uid: meta.uid,
          resourceVersion: meta.resourceVersion,
        },
      });
      this.seen.set(key, { name, namespace, count: 1, lastMs: now });
      if (this.seen.size > MAX_TRACKED) this.seen.delete(this.seen.keys().next().value as string);
    } catch (e) {
      this.log.warn(
        { err: (e as Error).message, reason, object: `${meta.namespace}/${meta.name}` },
        'could not record event',
      );
    }
  }
}
