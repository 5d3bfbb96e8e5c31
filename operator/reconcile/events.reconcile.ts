// Kubernetes Events on a GraminstaApp, for transitions a person watching `kubectl describe` should see.
import type { CoreV1Api } from '@kubernetes/client-node';
import type { GraminstaApp } from '../api/types.gen.js';
import type { Clock } from '../kube/clock.kube.js';
import type { Logger } from '../kube/logger.kube.js';

/** Records Events on an app; never throws (an Event is best effort). */
export interface EventRecorder {
  record(app: GraminstaApp, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

/** An EventRecorder that writes core/v1 Events as the given component. */
export function createEventRecorder(core: CoreV1Api, opts: { component: string; instance: string; clock: Clock; logger: Logger }): EventRecorder {
  let seq = 0;
  return {
    record(app, type, reason, message) {
      const now = new Date(opts.clock.now());
      const namespace = app.metadata.namespace!;
      const name = `${app.metadata.name}.${now.getTime().toString(16)}${(++seq).toString(16)}`;
      core
        .createNamespacedEvent({
          namespace,
          body: {
            metadata: { name, namespace },
            involvedObject: {
              apiVersion: app.apiVersion,
              kind: app.kind,
              name: app.metadata.name,
              namespace,
              uid: app.metadata.uid,
              resourceVersion: app.metadata.resourceVersion,
            },
            type,
            reason,
            message: message.slice(0, 1024),
            source: { component: opts.component },
            reportingComponent: `graminsta.io/${opts.component}`,
            reportingInstance: opts.instance,
            action: reason,
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
          },
        })
        .catch((err: unknown) => opts.logger.warn('could not record an Event', { reason, error: err }));
    },
  };
}
