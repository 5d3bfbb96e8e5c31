// The pure inputs that the caller of renderApp passes in besides the plan.

/** What render needs besides the plan: Secrets that already exist, how to make passwords, and what the cluster serves. */
export interface RenderContext {
  /**
   * Data (decoded strings) of Secrets that already exist in the app's namespace, by Secret name: at least
   * the generated ones (so their passwords are kept), optionally the user's Secrets the pods refer to (so
   * their rotation rolls the pods through the config hash).
   */
  existingSecrets: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Returns a fresh password for `<secret name>/<key>`; called only for keys that do not exist yet. */
  generatePassword(name: string): string;
  /**
   * Whether the cluster serves the Prometheus Operator's monitoring.coreos.com/v1 PodMonitor and PrometheusRule
   * (found by discovery when the operator starts); without them a monitored app gets its metrics sidecars only.
   */
  monitoringApi?: boolean;
  /**
   * Whether the cluster serves Gateway API gateway.networking.k8s.io/v1 HTTPRoutes; without them an app with
   * spec.ingress.gatewayRef gets no routes (and no Ingress either), and its IngressReady condition says why.
   */
  gatewayApi?: boolean;
}
