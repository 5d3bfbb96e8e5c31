// Where clients reach the app: from the Ingress (or HTTPRoute) hosts and TLS (or gatewayRef.scheme), else the in-cluster Service DNS names.
import type { EffectiveSpec } from '../api/presets.api.js';
import { serviceHost, type AppNames } from './names.render.js';

/** URLs of the API, the web client and the image base, as shown in status.endpoints. */
export interface Endpoints {
  api: string;
  web: string;
  cdn: string;
}

/** The endpoints of an app; an empty string where only the Ingress controller knows (host-less Ingress). */
export function endpointsOf(
  names: AppNames,
  ingress: EffectiveSpec['ingress'],
  hasWeb: boolean,
  cdnBaseURL: string,
): Endpoints {
  let api: string;
  let web: string;
  if (ingress) {
    const scheme = ingress.tls || ingress.gatewayRef?.scheme === 'https' ? 'https' : 'http';
    const webSide = ingress.webHost ? `${scheme}://${ingress.webHost}` : '';
    // Without an apiHost the API is routed under /api on the web side (webHost or host-less).
    api = ingress.apiHost ? `${scheme}://${ingress.apiHost}` : webSide;
    web = hasWeb ? webSide : '';
  } else {
    api = `http://${serviceHost(names, names.api)}`;
    web = hasWeb ? `http://${serviceHost(names, names.web)}` : '';
  }
  const cdn = cdnBaseURL || (api ? `${api}/images/` : '');
  return { api, web, cdn };
}
