// Where clients reach the app: from the Ingress hosts and TLS, else the in-cluster Service DNS names.
import type { GraminstaApp } from '../api/types.gen.js';
import { serviceHost } from './names.render.js';
import { planOf, type Plan } from './plan.render.js';

/** URLs of the API, the web client and the image base, as shown in status.endpoints. */
export interface Endpoints {
  api: string;
  web: string;
  cdn: string;
}

/** Endpoints computed from a Plan (shared with the ConfigMaps, which hand them to the pods). */
export function endpointsOf(app: GraminstaApp, plan: Plan): Endpoints {
  const ingress = plan.ingress;
  let api: string;
  let web: string;
  if (ingress) {
    const scheme = ingress.tls ? 'https' : 'http';
    const webSide = ingress.webHost ? `${scheme}://${ingress.webHost}` : '';
    // Without an apiHost the API is routed under /api on the web side (webHost or host-less).
    api = ingress.apiHost ? `${scheme}://${ingress.apiHost}` : webSide;
    web = plan.web ? webSide : '';
  } else {
    api = `http://${serviceHost(app, plan.names.api)}`;
    web = plan.web ? `http://${serviceHost(app, plan.names.web)}` : '';
  }
  const cdn = plan.cdnBaseURL || (api ? `${api}/images/` : '');
  return { api, web, cdn };
}

/** Where clients reach the app; an empty string when only the Ingress controller knows (host-less Ingress). */
export function renderEndpoints(app: GraminstaApp): Endpoints {
  return endpointsOf(app, planOf(app));
}
