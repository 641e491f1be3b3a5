Feature: Token endpoint — certificate client assertions validated as Entra does
  The sync server authenticates with the client-credentials grant and a JWT client assertion
  signed by its certificate. The mock must accept every shape real Microsoft clients send and
  refuse everything Entra refuses, with Entra's AADSTS code, OAuth error and HTTP status.

  Background:
    Given a tenant
    And an application "Connect Sync" with a certificate

  Scenario: A token for the synchronization service carries the granted role
    Given the application "Connect Sync" is granted "ADSynchronization.ReadWrite.All" on "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016"
    When "Connect Sync" requests a token for "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/.default"
    Then a token is issued with the roles "ADSynchronization.ReadWrite.All"
    And the token's "appidacr" claim is "2"
    And the token's "idtyp" claim is "app"

  Scenario Outline: Assertions in every shape real clients send are accepted (<change>)
    When "Connect Sync" requests a token for "https://graph.microsoft.com/.default" with <change>
    Then a token is issued

    Examples:
      | change                                  |
      | nothing changed                         |
      | RS256 and x5t                           |
      | a padded x5t                            |
      | a standard base64 x5t                   |
      | a padded x5t#S256                       |
      | x5c as a string                         |
      | x5c as an array                         |
      | x5c with line breaks                    |
      | float times and no nbf                  |
      | string times and no iat                 |
      | no typ                                  |
      | an unrelated kid                        |
      | nbf 4 minutes ahead                     |
      | exp 4 minutes ago                       |
      | aud naming the tenant by domain         |
      | aud naming the v1 token endpoint        |
      | aud naming the tenant issuer            |
      | aud in upper case with a trailing slash |
      | unknown form fields                     |
      | a charset in the content type           |
      | a query string on the token URL         |
      | an upper-case client id                 |
      | the v1 endpoint                         |
      | the v1 endpoint and the resource by appId |
      | the tenant named by domain              |
      | RS384 and x5t                           |
      | RS512 and x5t                           |
      | PS384 and x5t#S256                      |
      | PS512 and x5t#S256                      |
      | only a kid naming the SHA-1 thumbprint  |

  Scenario Outline: Requests Entra refuses are refused the same way (<change>)
    When "Connect Sync" requests a token for "https://graph.microsoft.com/.default" with <change>
    Then the request is refused with AADSTS<code>, error "<error>" and status <status>

    Examples:
      | change                                          | code    | error                  | status |
      | an unknown tenant id                            | 90002   | invalid_request        | 400    |
      | an unknown tenant domain                        | 90002   | invalid_request        | 400    |
      | a malformed tenant                              | 900023  | invalid_request        | 400    |
      | the common endpoint                             | 9001023 | invalid_request        | 400    |
      | no grant_type                                   | 900144  | invalid_request        | 400    |
      | an unsupported grant_type                       | 70003   | unsupported_grant_type | 400    |
      | no client_id                                    | 900144  | invalid_request        | 400    |
      | no scope                                        | 900144  | invalid_request        | 400    |
      | no client_assertion_type                        | 900144  | invalid_request        | 400    |
      | a wrong client_assertion_type                   | 90011   | invalid_request        | 400    |
      | no credential                                   | 7000216 | invalid_client         | 401    |
      | an unknown client id                            | 700016  | unauthorized_client    | 400    |
      | a token that is not a JWT                       | 50027   | invalid_request        | 400    |
      | a duplicated aud claim                          | 50027   | invalid_request        | 400    |
      | iss as a number                                 | 50027   | invalid_request        | 400    |
      | aud as an array                                 | 5002741 | invalid_client         | 401    |
      | no iss                                          | 90014   | invalid_request        | 400    |
      | no sub                                          | 90014   | invalid_request        | 400    |
      | no aud                                          | 90014   | invalid_request        | 400    |
      | alg none                                        | 5002738 | invalid_client         | 401    |
      | HS256 keyed with the certificate                | 5002738 | invalid_client         | 401    |
      | ES256 as alg                                    | 5002738 | invalid_client         | 401    |
      | no thumbprint header                            | 5002723 | invalid_client         | 401    |
      | no exp                                          | 700024  | invalid_client         | 401    |
      | iss and sub naming another application          | 700021  | invalid_client         | 401    |
      | sub differing from iss                          | 50048   | invalid_client         | 401    |
      | aud naming another tenant                       | 700023  | invalid_client         | 401    |
      | aud naming another host                         | 700023  | invalid_client         | 401    |
      | a certificate not registered on the application | 700027  | invalid_client         | 401    |
      | a SHA-256 digest in x5t                         | 700027  | invalid_client         | 401    |
      | a signature by another key                      | 700027  | invalid_client         | 401    |
      | a tampered payload                              | 700027  | invalid_client         | 401    |
      | exp 6 minutes ago                               | 700024  | invalid_client         | 401    |
      | nbf 6 minutes ahead                             | 700024  | invalid_client         | 401    |
      | a scope without /.default                       | 1002012 | invalid_scope          | 400    |
      | scopes for two resources                        | 70011   | invalid_scope          | 400    |
      | only OpenID scopes                              | 70011   | invalid_scope          | 400    |
      | a scope for an unknown resource                 | 500011  | invalid_resource       | 400    |

  Scenario: The key-not-found message names the thumbprint the client used
    When "Connect Sync" requests a token for "https://graph.microsoft.com/.default" with a certificate not registered on the application
    Then the request is refused with AADSTS700027, error "invalid_client" and status 401
    And the error description mentions "Reason - The key was not found."
    And the error description names the thumbprint the client used

  Scenario: A signature that does not verify names the key that was found
    When "Connect Sync" requests a token for "https://graph.microsoft.com/.default" with a signature by another key
    Then the request is refused with AADSTS700027, error "invalid_client" and status 401
    And the error description mentions "Key was found, but use of the key to verify the signature failed."
    And the error description names the thumbprint the client used
    And the error description names the certificate credential of "Connect Sync" as the key that was found

  @mock-only
  Scenario: A certificate credential past its end date is refused
    Given the tenant clock moves forward 400 days
    When "Connect Sync" requests a token for "https://graph.microsoft.com/.default"
    Then the request is refused with AADSTS700027, error "invalid_client" and status 401
    And the error description mentions "The key used is expired."
    And the error description names the certificate credential of "Connect Sync" as the key that was found

  Scenario: A certificate credential not valid yet is refused
    Given an application "Future" with a certificate valid from -3 days ago for 30 days
    When "Future" requests a token for "https://graph.microsoft.com/.default"
    Then the request is refused with AADSTS700027, error "invalid_client" and status 401
    And the error description mentions "The key used is expired."
    And the error description names the certificate credential of "Future" as the key that was found

  Scenario: An application without a service principal cannot get a token
    Given an application "Orphan" with a certificate but no service principal
    When "Orphan" requests a token for "https://graph.microsoft.com/.default"
    Then the request is refused with AADSTS7000229, error "invalid_client" and status 401

  @mock-only
  Scenario: Client secrets: right, wrong and expired
    Given the application "Connect Sync" has a client secret "s3cret-value" that expires in 30 days
    When "Connect Sync" requests a token for "https://graph.microsoft.com/.default" with the client secret "s3cret-value"
    Then a token is issued
    And the token's "appidacr" claim is "1"
    When "Connect Sync" requests a token for "https://graph.microsoft.com/.default" with the client secret "wrong"
    Then the request is refused with AADSTS7000215, error "invalid_client" and status 401

  @mock-only
  Scenario: An expired client secret is refused
    Given the application "Connect Sync" has a client secret "old-secret" that expired 2 days ago
    When "Connect Sync" requests a token for "https://graph.microsoft.com/.default" with the client secret "old-secret"
    Then the request is refused with AADSTS7000222, error "invalid_client" and status 401

  Scenario Outline: Username and password through a first-party public client (<case>)
    When "<user>" signs in with the password "<password>" through "<client>" for "<scope>"
    Then the request is refused with AADSTS<code>, error "<error>" and status <status>

    Examples:
      | case                    | user                              | password  | client                               | scope                                                                                 | code  | error               | status |
      | wrong password          | admin@contoso.onmicrosoft.com     | nope      | 14d82eec-204b-4c2f-b7e8-296a70dab67e | https://graph.microsoft.com/.default                                                  | 50126 | invalid_grant       | 400    |
      | unknown user            | nobody@contoso.onmicrosoft.com    | Passw0rd! | 14d82eec-204b-4c2f-b7e8-296a70dab67e | https://graph.microsoft.com/.default                                                  | 50034 | invalid_grant       | 400    |
      | no consent              | admin@contoso.onmicrosoft.com     | Passw0rd! | 14d82eec-204b-4c2f-b7e8-296a70dab67e | 6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/.default                                         | 65001 | invalid_grant       | 400    |
      | a permission not granted | admin@contoso.onmicrosoft.com    | Passw0rd! | 14d82eec-204b-4c2f-b7e8-296a70dab67e | https://graph.microsoft.com/Mail.Read                                                 | 65001 | invalid_grant       | 400    |
      | unknown client          | admin@contoso.onmicrosoft.com     | Passw0rd! | 11111111-2222-3333-4444-555555555555 | https://graph.microsoft.com/.default                                                  | 700016| unauthorized_client | 400    |
      | two resources           | admin@contoso.onmicrosoft.com     | Passw0rd! | 14d82eec-204b-4c2f-b7e8-296a70dab67e | https://graph.microsoft.com/.default 6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/.default    | 28000 | invalid_scope       | 400    |
      | .default and a permission | admin@contoso.onmicrosoft.com   | Passw0rd! | 14d82eec-204b-4c2f-b7e8-296a70dab67e | https://graph.microsoft.com/.default https://graph.microsoft.com/User.ReadWrite.All   | 70011 | invalid_scope       | 400    |
      | only OpenID scopes      | admin@contoso.onmicrosoft.com     | Passw0rd! | 14d82eec-204b-4c2f-b7e8-296a70dab67e | openid profile                                                                        | 70011 | invalid_scope       | 400    |
      | unknown resource        | admin@contoso.onmicrosoft.com     | Passw0rd! | 14d82eec-204b-4c2f-b7e8-296a70dab67e | https://unknown.example.com/.default                                                  | 500011| invalid_resource    | 400    |

  Scenario: A Global Administrator signs in and gets a delegated Graph token
    When "admin@contoso.onmicrosoft.com" signs in with the password "Passw0rd!" through "14d82eec-204b-4c2f-b7e8-296a70dab67e" for "https://graph.microsoft.com/.default openid"
    Then a token is issued
    And the token's "idtyp" claim is "user"
    And the token's "wids" claim is "62e90394-69f5-4237-9190-012177145e10"

  Scenario: A public client must not present a secret
    When "admin@contoso.onmicrosoft.com" signs in with the password "Passw0rd!" through "14d82eec-204b-4c2f-b7e8-296a70dab67e" for "https://graph.microsoft.com/.default" presenting the client secret "x"
    Then the request is refused with AADSTS700025, error "invalid_client" and status 401

  Scenario: Consent is asked for with the suberror Microsoft's clients read
    When "admin@contoso.onmicrosoft.com" signs in with the password "Passw0rd!" through "14d82eec-204b-4c2f-b7e8-296a70dab67e" for "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/.default"
    Then the request is refused with AADSTS65001, error "invalid_grant" and status 400
    And the refusal's suberror is "consent_required"
    And the error description mentions "named 'Microsoft Graph Command Line Tools'"

  Scenario: A named permission that was consented gets everything consented for the resource
    When "admin@contoso.onmicrosoft.com" signs in with the password "Passw0rd!" through "14d82eec-204b-4c2f-b7e8-296a70dab67e" for "https://graph.microsoft.com/Application.ReadWrite.All openid"
    Then a token is issued
    And the token's "scp" claim is "Application.ReadWrite.All AppRoleAssignment.ReadWrite.All Directory.AccessAsUser.All Directory.ReadWrite.All RoleManagement.ReadWrite.Directory User.ReadWrite.All"

  Scenario: A confidential client on the password grant must present its credential
    When "admin@contoso.onmicrosoft.com" signs in with the password "Passw0rd!" through "Connect Sync" for "https://graph.microsoft.com/.default"
    Then the request is refused with AADSTS7000218, error "invalid_client" and status 401

  Scenario: A disabled account cannot sign in
    Given the administrator "admin@contoso.onmicrosoft.com" creates the user "disabled" with the password "Str0ng-Passw0rd" and the account disabled
    When "disabled@contoso.onmicrosoft.com" signs in with the password "Str0ng-Passw0rd" through "14d82eec-204b-4c2f-b7e8-296a70dab67e" for "https://graph.microsoft.com/.default"
    Then the request is refused with AADSTS50057, error "invalid_grant" and status 400

  Scenario: A user who must change the password first gets AADSTS50055
    Given the administrator "admin@contoso.onmicrosoft.com" creates the user "newhire" with the password "Str0ng-Passw0rd" and a password change required at next sign-in
    When "newhire@contoso.onmicrosoft.com" signs in with the password "Str0ng-Passw0rd" through "14d82eec-204b-4c2f-b7e8-296a70dab67e" for "https://graph.microsoft.com/.default"
    Then the request is refused with AADSTS50055, error "invalid_grant" and status 400
    And the refusal's suberror is "user_password_expired"
    And the error description mentions "The password is expired."

  Scenario: A user created through Graph without forceChangePasswordNextSignIn signs in
    Given the administrator "admin@contoso.onmicrosoft.com" creates the user "plain" with the password "Str0ng-Passw0rd"
    When "plain@contoso.onmicrosoft.com" signs in with the password "Str0ng-Passw0rd" through "14d82eec-204b-4c2f-b7e8-296a70dab67e" for "https://graph.microsoft.com/.default"
    Then a token is issued

  @mock-only
  Scenario: A user of another tenant signing in here gets AADSTS50020
    Given another tenant "fabrikam.onmicrosoft.com" on the same mock
    When "admin@fabrikam.onmicrosoft.com" signs in with the password "Passw0rd!" through "14d82eec-204b-4c2f-b7e8-296a70dab67e" for "https://graph.microsoft.com/.default"
    Then the request is refused with AADSTS50020, error "invalid_grant" and status 400
    And the error description mentions "does not exist in tenant 'Contoso' and cannot access the application '14d82eec-204b-4c2f-b7e8-296a70dab67e'(Microsoft Graph Command Line Tools)"
    And the error description names the other tenant as the user's identity provider

  Scenario: A disabled service principal cannot get a token
    Given the administrator "admin@contoso.onmicrosoft.com" disables the service principal of "Connect Sync"
    When "Connect Sync" requests a token for "https://graph.microsoft.com/.default"
    Then the request is refused with AADSTS7000112, error "unauthorized_client" and status 400
    And the error description mentions "(Connect Sync) is disabled."

  Scenario Outline: Refusals worded as Entra words them (<change>)
    When "Connect Sync" requests a token for "<scope>" with <change>
    Then the request is refused with AADSTS<code>, error "<error>" and status <status>
    And the error description mentions "<words>"

    Examples:
      | change                        | scope                                | code    | error               | status | words                                                                 |
      | a malformed tenant            | https://graph.microsoft.com/.default | 900023  | invalid_request     | 400    | is neither a valid DNS name, nor a valid external domain.             |
      | sub differing from iss        | https://graph.microsoft.com/.default | 50048   | invalid_client      | 401    | Subject must match the issuer claim in the client assertion.          |
      | an unknown client id          | https://graph.microsoft.com/.default | 700016  | unauthorized_client | 400    | was not found in the directory 'Contoso'.                             |
      | nothing changed               | https://unknown.example.com/.default | 500011  | invalid_resource    | 400    | was not found in the tenant named Contoso.                            |
      | no exp                        | https://graph.microsoft.com/.default | 700024  | invalid_client      | 401    | expiry time of assertion 1970-01-01T00:00:00.0000000Z.                |
      | ES256 as alg                  | https://graph.microsoft.com/.default | 5002738 | invalid_client      | 401    | 'ES256' is not a supported signature algorithm. Supported signing algorithms are: 'RS256,RS384,RS512' |
      | scopes for two resources      | https://graph.microsoft.com/.default | 70011   | invalid_scope       | 400    | The scope https://graph.microsoft.com/.default 6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/.default is not valid. |
      | aud as an array               | https://graph.microsoft.com/.default | 5002741 | invalid_client      | 401    | 2 audience values provided, maximum allowed is 1.                     |
      | no iss                        | https://graph.microsoft.com/.default | 90014   | invalid_request     | 400    | The required field 'iss' is missing from the credential.              |

  Scenario: A SHA-256 digest sent as x5t is not found, and the message names what was sent
    When "Connect Sync" requests a token for "https://graph.microsoft.com/.default" with a SHA-256 digest in x5t
    Then the request is refused with AADSTS700027, error "invalid_client" and status 401
    And the error description mentions "Reason - The key was not found."
    And the error description names the thumbprint the client used
