import {
  IMPLICIT_GROUPS_OF_EVERY_CALLER,
  INVOKE_ATTRIBUTES,
  LABELS,
  RESERVED_NAME_PREFIX,
  SERVICE_ACCOUNTS_GROUP,
  SERVICE_ACCOUNT_USERNAME_PREFIX,
  authConfigName,
  clientCertificateGroup,
  clientCertificateUsername,
  commonLabels,
  endpointResourceName,
  oidcClaimRules,
  registryAuthConfigName,
  registryHost,
  registryServiceName,
  tenantWildcardHost,
} from '../domain/index.ts';
import type { KubeObject, OidcClaimRules, OidcIssuer } from '../domain/index.ts';
import { clientAuthentication } from './gateway.ts';
import { objectMeta } from './meta.ts';
import type { TenantContext } from './types.ts';

/**
 * Properties every identity is normalised to, whatever proved it, so one SubjectAccessReview serves all:
 * the method (`x509`, `oidc`, `serviceaccount`), the Kubernetes username and the groups.
 */
export const IDENTITY_FIELDS = {
  method: 'tenantmeshMethod',
  user: 'tenantmeshUser',
  groups: 'tenantmeshGroups',
  audienceAccepted: 'tenantmeshAudienceAccepted',
  claimsAccepted: 'tenantmeshClaimsAccepted',
} as const;

/** The header the Istio gateway puts the verified client certificate in (SANITIZE_SET). */
export const XFCC_HEADER = 'x-forwarded-client-cert';

/** A CEL string literal (JSON string syntax is valid CEL). */
function celString(value: string): string {
  return JSON.stringify(value);
}

function celList(values: readonly string[]): string {
  return `[${values.map(celString).join(', ')}]`;
}

/**
 * CEL for the first DNS label of the requested host, lower-cased, i.e. the short endpoint name. Endpoint names
 * are lower case; folding here means `Resnet.H` can never differ from `resnet.H` in any rule below.
 */
export const REQUESTED_ENDPOINT_CEL = 'request.host.lowerAscii().split(".")[0]';
const identity = (field: string) => `auth.identity.${field}`;

/**
 * Authorino's selector/operator/value condition. Authorino runs it with gjson on the authorization JSON it already
 * has, while each CEL predicate or expression first converts that whole JSON (headers, XFCC certificate and all)
 * into a CEL value, on every request: most of Authorino's CPU per call. So the rules a call passes on every
 * request are written as patterns where a pattern says exactly what the CEL said; the CEL that remains runs only
 * for bearer tokens or on a decision-cache miss.
 */
interface Pattern {
  selector: string;
  operator: 'eq' | 'neq' | 'incl' | 'excl' | 'matches';
  value: string;
}

const pattern = (selector: string, operator: Pattern['operator'], value: string): Pattern => ({
  selector,
  operator,
  value,
});

/**
 * The request carries header `name` (lower case, as Envoy sends names), even with an empty value: `@keys` lists
 * the header map's keys, so this is CEL's `name in request.headers`. Comparing the value would not be: gjson reads
 * an absent header and an empty one both as "".
 */
const hasHeader = (name: string) => pattern('request.headers.@keys', 'incl', name);
const lacksHeader = (name: string) => pattern('request.headers.@keys', 'excl', name);

/** The identity was not normalised with this method; `tenantmeshMethod` is always a fixed string (an override). */
const methodIsNot = (method: string) => pattern(identity(IDENTITY_FIELDS.method), 'neq', method);

/**
 * A Go (RE2) regexp for a host whose first DNS label is `endpoint` in any ASCII letter case, i.e. exactly
 * `REQUESTED_ENDPOINT_CEL == endpoint`: lowerAscii folds only A-Z, so each letter gets a two-letter class rather than
 * `(?i)`, which would also fold non-ASCII letters (the Kelvin sign into k); the label ends at a dot or at the end.
 */
export function firstLabelRegexp(endpoint: string): string {
  const letters = [...endpoint].map((c) =>
    /[a-z]/.test(c) ? `[${c}${c.toUpperCase()}]` : c.replace(/[\\^$.|?*+()[\]{}-]/g, '\\$&'),
  );
  return `^${letters.join('')}(\\.|$)`;
}

/** CEL that yields `[value]` for a string claim and the claim itself for a list claim. */
function claimAsList(claim: string): string {
  const value = `auth.identity[${celString(claim)}]`;
  return `(type(${value}) == string ? [${value}] : ${value})`;
}

/**
 * CEL for the groups Kubernetes would give the caller (domain `effectiveGroups`): its own groups, then the
 * groups of every authenticated caller, then for a ServiceAccount username the ServiceAccount groups.
 */
function effectiveGroupsCel(groups: string, username?: string): string {
  const implicit = celList(IMPLICIT_GROUPS_OF_EVERY_CALLER);
  if (username === undefined) return `${groups} + ${implicit}`;
  const namespaceGroup = `${celString(`${SERVICE_ACCOUNTS_GROUP}:`)} + ${username}.split(":")[2]`;
  const serviceAccountGroups = `[${celString(SERVICE_ACCOUNTS_GROUP)}, ${namespaceGroup}]`;
  const isServiceAccount = `${username}.startsWith(${celString(SERVICE_ACCOUNT_USERNAME_PREFIX)})`;
  // A TokenReview answer usually lists these already; filtering first keeps each group once.
  const known = `${implicit} + (${isServiceAccount} ? ${serviceAccountGroups} : [])`;
  return `${groups}.filter(g, !(g in ${known})) + ${known}`;
}

function clientCertificateIdentity(ctx: TenantContext): Record<string, unknown> {
  const usernamePrefix = clientCertificateUsername(ctx.name, '');
  return {
    // With a bearer token the token says who the caller is; the certificate only opened the TLS channel.
    when: [lacksHeader('authorization')],
    x509: {
      selector: { matchLabels: { [LABELS.tenantCa]: ctx.name } },
      source: { xfccHeader: XFCC_HEADER },
    },
    overrides: {
      [IDENTITY_FIELDS.method]: { value: 'x509' },
      // A template: the prefix, then the subject's CommonName, which Authorino's x509 identity (Go's pkix.Name)
      // always has, as a string ("" without a CN), so this is the CEL concatenation it replaces. The prefix is
      // built from the tenant's DNS name: no braces or backslashes a template would read.
      [IDENTITY_FIELDS.user]: { selector: `${usernamePrefix}{auth.identity.CommonName}` },
      [IDENTITY_FIELDS.groups]: {
        value: [clientCertificateGroup(ctx.name), ...IMPLICIT_GROUPS_OF_EVERY_CALLER],
      },
    },
  };
}

function oidcIdentity(issuer: OidcIssuer): Record<string, unknown> {
  const rules = oidcClaimRules(issuer);
  const groups = `(${celString(rules.groupsClaim)} in auth.identity ? ${claimAsList(rules.groupsClaim)} : [])`;
  const prefixedGroups = rules.groupsPrefix
    ? `${groups}.map(g, ${celString(rules.groupsPrefix)} + g)`
    : groups;
  const username = `${celString(rules.usernamePrefix)} + auth.identity[${celString(rules.usernameClaim)}]`;
  return {
    // No `when`: without an `Authorization: Bearer …` header Authorino finds no credential and this identity fails
    // at once, before any verification, which is what a `when` on the header did (at the cost of one more pass over
    // the request JSON on every certificate call). It is the certificate identity that must not run beside a token.
    credentials: { authorizationHeader: { prefix: 'Bearer' } },
    jwt: { issuerUrl: issuer.issuerUrl },
    overrides: {
      [IDENTITY_FIELDS.method]: { value: 'oidc' },
      [IDENTITY_FIELDS.user]: { expression: username },
      [IDENTITY_FIELDS.groups]: { expression: effectiveGroupsCel(prefixedGroups) },
      // Authorino checks signature, expiry and issuer; the audience is checked by the oidc-token rule.
      [IDENTITY_FIELDS.audienceAccepted]: {
        expression: `"aud" in auth.identity && ${claimAsList('aud')}.exists(a, a in ${celList(issuer.audiences)})`,
      },
      // The API's claim rules (domain mapOidcClaims), checked by the oidc-token rule.
      [IDENTITY_FIELDS.claimsAccepted]: { expression: claimsAcceptedCel(rules, username, prefixedGroups) },
    },
  };
}

/** CEL that is true when the claims pass mapOidcClaims' checks: verified email, no reserved names. */
function claimsAcceptedCel(rules: OidcClaimRules, username: string, groups: string): string {
  const reserved = celString(RESERVED_NAME_PREFIX);
  const checks = [`!(${username}).startsWith(${reserved})`, `${groups}.all(g, !g.startsWith(${reserved}))`];
  if (rules.requireVerifiedEmail) {
    checks.unshift('(!("email_verified" in auth.identity) || auth.identity.email_verified == true)');
  }
  return checks.join(' && ');
}

function serviceAccountIdentity(audiences: string[]): Record<string, unknown> {
  return {
    // After the OIDC issuers, so a token both could accept always maps the same way.
    priority: 1,
    // No `when`, as for the OIDC issuers: no bearer credential, no TokenReview.
    credentials: { authorizationHeader: { prefix: 'Bearer' } },
    kubernetesTokenReview: audiences.length > 0 ? { audiences: [...audiences] } : {},
    overrides: {
      [IDENTITY_FIELDS.method]: { value: 'serviceaccount' },
      [IDENTITY_FIELDS.user]: { expression: 'auth.identity.user.username' },
      [IDENTITY_FIELDS.groups]: {
        expression: effectiveGroupsCel(
          '("groups" in auth.identity.user ? auth.identity.user.groups : [])',
          'auth.identity.user.username',
        ),
      },
    },
  };
}

function authentication(ctx: TenantContext): Record<string, unknown> {
  return { 'client-certificate': clientCertificateIdentity(ctx), ...bearerIdentities(ctx) };
}

/** The identities a bearer token can prove: each OIDC issuer, then a ServiceAccount (TokenReview). */
function bearerIdentities(ctx: TenantContext): Record<string, unknown> {
  const entries: Record<string, unknown> = {};
  ctx.platform.oidcIssuers.forEach((issuer, index) => {
    entries[`oidc-${index}`] = oidcIdentity(issuer);
  });
  entries['service-account'] = serviceAccountIdentity(ctx.platform.serviceAccountTokenAudiences);
  return entries;
}

/**
 * A SubjectAccessReview of the normalised identity (its own groups, never a fixed list: a fixed list would let
 * anyone authenticated in), cached per identity and `extraCacheKey` (selectors of what else decides the review)
 * for the platform's TTL.
 */
function identityReview(
  ctx: TenantContext,
  resourceAttributes: Record<string, unknown>,
  extraCacheKey: string[] = [],
): Record<string, unknown> {
  return {
    kubernetesSubjectAccessReview: {
      // Selectors read the strings and the list as they are, as the CEL `auth.identity.<field>` did.
      user: { selector: identity(IDENTITY_FIELDS.user) },
      authorizationGroups: { selector: identity(IDENTITY_FIELDS.groups) },
      resourceAttributes,
    },
    // A TTL of 0 means no cache at all (every request asks the apiserver), not entries that expire at once.
    ...(ctx.platform.authorizationCacheTtlSeconds > 0
      ? {
          cache: {
            // Resolved on every request, hit or miss, so a selector rather than CEL: a gjson multipath, the JSON
            // array of the user, the groups and the rest, as one string (@tostr). JSON quoting keeps it
            // unambiguous, unlike joining with separators a name may contain; every input of the review is in it.
            key: {
              selector: `[${[identity(IDENTITY_FIELDS.user), identity(IDENTITY_FIELDS.groups), ...extraCacheKey].join(',')}]|@tostr`,
            },
            ttl: ctx.platform.authorizationCacheTtlSeconds,
          },
        }
      : {}),
  };
}

/** Per endpoint with `allowedClientSubjects`: a certificate caller's CN must be listed. */
function clientSubjectRules(ctx: TenantContext): Record<string, unknown> {
  const rules: Record<string, unknown> = {};
  for (const endpoint of ctx.endpoints) {
    const allowed = endpoint.resource.spec.allowedClientSubjects;
    if (!allowed || allowed.length === 0) continue;
    rules[`client-subjects-${endpoint.endpoint}`] = {
      when: [pattern('request.host', 'matches', firstLabelRegexp(endpoint.endpoint))],
      patternMatching: {
        // Passes for other methods (as a `when` on the method would skip the rule), else the CN (a string in
        // Authorino's x509 identity) must equal a listed name.
        patterns: [
          {
            any: [
              methodIsNot('x509'),
              ...[...allowed].sort().map((name) => pattern('auth.identity.CommonName', 'eq', name)),
            ],
          },
        ],
      },
    };
  }
  return rules;
}

function subjectAccessReview(ctx: TenantContext): Record<string, unknown> {
  const endpointName = `${celString(endpointResourceName(ctx.name, ''))} + ${REQUESTED_ENDPOINT_CEL}`;
  return identityReview(
    ctx,
    {
      verb: { value: INVOKE_ATTRIBUTES.verb },
      group: { value: INVOKE_ATTRIBUTES.group },
      resource: { value: INVOKE_ATTRIBUTES.resource },
      namespace: { value: ctx.platform.servingNamespace },
      name: { expression: endpointName },
    },
    // The whole host decides the endpoint name above, so it keys the decision (its case and port variants get
    // entries of their own: more reviews, never another answer).
    ['request.host'],
  );
}

/**
 * The rule on certificate callers. Their O must be the tenant, as in every client certificate tenantmesh issues: a
 * CA shared by two tenants (bring your own) would otherwise let one tenant's certificates call the other's
 * endpoints. A certificate-only tenant also requires the certificate itself, whatever else the caller sends.
 */
function clientCertificateRule(ctx: TenantContext): Record<string, unknown> {
  const patterns: unknown[] = [];
  if (clientAuthentication(ctx.tenant) === 'certificate') {
    // The gateway sets XFCC only for a certificate it verified (SANITIZE_SET strips a client's own), so its
    // presence means one was presented: a token alone is not enough for a certificate-only tenant.
    patterns.push(hasHeader(XFCC_HEADER));
  }
  // Organization is a list in Authorino's x509 identity (null without O, which matches nothing), so `incl` is
  // CEL's `"<tenant>" in Organization`; a caller of another method passes, as a `when` on the method skipped it.
  patterns.push({ any: [methodIsNot('x509'), pattern('auth.identity.Organization', 'incl', ctx.name)] });
  return { patternMatching: { patterns } };
}

/**
 * The rule on OIDC callers: an accepted audience and the API's claim rules, flags the OIDC identity's overrides
 * compute as booleans (gjson reads true as "true"); a caller of another method passes, as a `when` would skip it.
 */
function oidcRules(ctx: TenantContext): Record<string, unknown> {
  if (ctx.platform.oidcIssuers.length === 0) return {};
  const accepted = (flag: string) => pattern(identity(flag), 'eq', 'true');
  return {
    'oidc-token': {
      patternMatching: {
        patterns: [
          {
            any: [
              methodIsNot('oidc'),
              { all: [accepted(IDENTITY_FIELDS.audienceAccepted), accepted(IDENTITY_FIELDS.claimsAccepted)] },
            ],
          },
        ],
      },
    },
  };
}

/*
 * Each rule is one evaluator, and each evaluator serialises the request JSON again: related checks share a rule.
 */
function authorization(ctx: TenantContext): Record<string, unknown> {
  const rules: Record<string, unknown> = { 'client-certificate': clientCertificateRule(ctx) };
  Object.assign(rules, oidcRules(ctx));
  Object.assign(rules, clientSubjectRules(ctx));
  rules['tenant-rbac'] = subjectAccessReview(ctx);
  return rules;
}

/**
 * The tenant's Authorino AuthConfig for `*.<tenant hostname>`: identity from the client certificate the
 * gateway forwards in XFCC, from OIDC JWTs or from ServiceAccount tokens, each normalised to (user, groups);
 * then Kubernetes RBAC decides with a SubjectAccessReview `invoke inferenceendpoints/<t>--<e>` (group
 * `tenantmesh.io`) in the serving namespace.
 */
export function renderAuthConfig(ctx: TenantContext): KubeObject {
  return {
    apiVersion: 'authorino.kuadrant.io/v1beta3',
    kind: 'AuthConfig',
    metadata: objectMeta(
      authConfigName(ctx.name),
      ctx.platform.servingNamespace,
      commonLabels('authz', ctx.name),
    ),
    spec: {
      hosts: [tenantWildcardHost(ctx.hostname)],
      authentication: authentication(ctx),
      authorization: authorization(ctx),
      response: {
        unauthenticated: {
          code: 401,
          message: {
            value: `tenantmesh: present a client certificate issued by tenant ${ctx.name}'s CA, or a valid bearer token`,
          },
        },
        unauthorized: {
          code: 403,
          message: { value: `tenantmesh: you are not allowed to call this endpoint of tenant ${ctx.name}` },
        },
      },
    },
  };
}

/**
 * The AuthConfig of `registry.<tenant hostname>`: a bearer token (OIDC or ServiceAccount, mapped as for the
 * endpoints), then the tenancy design's check, a SubjectAccessReview `get` on the tenant's registry Service, which
 * Role `registry-user-<t>` grants to `<t>-users`. A client certificate alone is no identity here. The API asks the
 * same question again (defence in depth).
 */
export function renderRegistryAuthConfig(ctx: TenantContext): KubeObject {
  return {
    apiVersion: 'authorino.kuadrant.io/v1beta3',
    kind: 'AuthConfig',
    metadata: objectMeta(
      registryAuthConfigName(ctx.name),
      ctx.platform.servingNamespace,
      commonLabels('registry', ctx.name),
    ),
    spec: {
      hosts: [registryHost(ctx.hostname)],
      authentication: bearerIdentities(ctx),
      authorization: {
        ...oidcRules(ctx),
        'registry-rbac': identityReview(ctx, {
          verb: { value: 'get' },
          group: { value: '' },
          resource: { value: 'services' },
          namespace: { value: ctx.platform.servingNamespace },
          name: { value: registryServiceName(ctx.name) },
        }),
      },
      response: {
        unauthenticated: {
          code: 401,
          message: {
            value: `tenantmesh: the model registry of tenant ${ctx.name} needs a valid bearer token`,
          },
        },
        unauthorized: {
          code: 403,
          message: { value: `tenantmesh: you may not use the model registry of tenant ${ctx.name}` },
        },
      },
    },
  };
}
