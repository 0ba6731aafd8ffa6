import { createHash, X509Certificate } from 'node:crypto';

/*
 * What the Istio ingress gateway puts in the ext_authz Check it sends Authorino, for the contract tests and the
 * Authorino benchmark (plain functions: no test runner needed).
 */

/** The gateway's SPIFFE identity, which Envoy puts in XFCC `By=`. */
export const GATEWAY_SPIFFE_ID =
  'spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account';

/**
 * The X-Forwarded-Client-Cert value the Istio ingress gateway sets for a verified client certificate with
 * forward_client_cert_details SANITIZE_SET and cert, subject and URI details: By, Hash (SHA-256 of the DER),
 * Cert (URL-encoded PEM), Subject (RFC 2253), URI (empty without a URI SAN).
 */
export function xfccFor(certPem: string): string {
  const cert = new X509Certificate(certPem);
  const hash = createHash('sha256').update(cert.raw).digest('hex');
  const subject = cert.subject.split('\n').reverse().join(',');
  return `By=${GATEWAY_SPIFFE_ID};Hash=${hash};Cert="${encodeURIComponent(certPem)}";Subject="${subject}";URI=`;
}

/** Every header the Istio gateway forwards to the CUSTOM provider for a gRPC call (it sends them all). */
export function gatewayHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return {
    'content-type': 'application/grpc',
    te: 'trailers',
    'user-agent': 'grpc-node-js/1.14.0',
    'grpc-accept-encoding': 'identity,deflate,gzip',
    'x-forwarded-proto': 'https',
    'x-request-id': '3f1c9a9e-6a51-4c59-9d0d-0e3c1f2a4b5c',
    'x-envoy-internal': 'true',
    'x-forwarded-for': '10.0.0.7',
    ...extra,
  };
}
