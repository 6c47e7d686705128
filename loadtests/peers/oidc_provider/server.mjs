// node-oidc-provider set up like the sandbox's token endpoint for the benchmark: client_credentials,
// private_key_jwt (ES256), DPoP (ES256), JWT access tokens signed ES256, in-memory store, one process.
// Usage: PORT=... CLIENT_ID=... CLIENT_JWKS='{"keys":[...]}' node server.mjs
import Provider from "oidc-provider";
import { exportJWK, generateKeyPair } from "jose";

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = await generateKeyPair("ES256", { extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), kid: "peer-1", alg: "ES256", use: "sig" };

const provider = new Provider(issuer, {
  jwks: { keys: [signingKey] },
  clients: [{
    client_id: process.env.CLIENT_ID,
    token_endpoint_auth_method: "private_key_jwt",
    token_endpoint_auth_signing_alg: "ES256",
    grant_types: ["client_credentials"],
    response_types: [],
    redirect_uris: [],
    id_token_signed_response_alg: "ES256",
    scope: "accounts",
    jwks: JSON.parse(process.env.CLIENT_JWKS),
  }],
  scopes: ["accounts"],
  enabledJWA: { clientAuthSigningAlgValues: ["ES256"], dPoPSigningAlgValues: ["ES256"] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    dPoP: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => "urn:openbank:bench",
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: "accounts", audience: "urn:openbank:bench", accessTokenTTL: 600,
        accessTokenFormat: "jwt", jwt: { sign: { alg: "ES256" } },
      }),
    },
  },
});
provider.listen(port, "127.0.0.1", () => console.log(`ready ${issuer}`));
