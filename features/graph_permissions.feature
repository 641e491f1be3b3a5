Feature: Granting a brought application its permissions through Microsoft Graph
  With "bring your own application" the administrator registers the application and grants its
  permissions with Microsoft Graph, as the Connect Sync documentation gives the sequence: read
  the synchronization service's principal and its app roles, read the password reset service's
  principal, declare the application's requiredResourceAccess, then assign each app role. Graph
  refuses ordinary users, bad bearer tokens, duplicate and unknown assignments; an Application
  Administrator can add a certificate to the sync application (the documentation warns about
  it), and an application rolls its own key with addKey and a proof, without any permission.

  Background:
    Given a tenant
    And an application "ContosoSync" with a certificate

  Scenario: The documented sequence grants the synchronization role
    When the administrator "hybridadmin@contoso.onmicrosoft.com" reads the service principal of "Microsoft Entra AD Synchronization Service"
    Then Graph answers 200
    And the answer has only the properties "id"
    When the administrator "hybridadmin@contoso.onmicrosoft.com" reads the app roles of "Microsoft Entra AD Synchronization Service"
    Then Graph answers 200
    And the answer has only the properties "appRoles"
    And the answer lists the app roles "ADSynchronization.ReadWrite.All"
    When the administrator "hybridadmin@contoso.onmicrosoft.com" reads the service principal of "Microsoft password reset service"
    Then Graph answers 200
    When the administrator "hybridadmin@contoso.onmicrosoft.com" reads the app roles of "Microsoft password reset service"
    Then Graph answers 200
    And the answer lists the app roles "PasswordWriteback.OffboardClient.All, PasswordWriteback.RegisterClientVersion.All, PasswordWriteback.RefreshClient.All"
    When the administrator "hybridadmin@contoso.onmicrosoft.com" sets the required permissions of "ContosoSync" to "ADSynchronization.ReadWrite.All, PasswordWriteback.OffboardClient.All, PasswordWriteback.RegisterClientVersion.All, PasswordWriteback.RefreshClient.All"
    Then Graph answers 204
    And the application "ContosoSync" requires "ADSynchronization.ReadWrite.All" of "Microsoft Entra AD Synchronization Service"
    And the application "ContosoSync" requires "PasswordWriteback.OffboardClient.All, PasswordWriteback.RegisterClientVersion.All, PasswordWriteback.RefreshClient.All" of "Microsoft password reset service"
    When "ContosoSync" requests a token for "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/.default"
    Then a token is issued with the roles "none"
    When the administrator "hybridadmin@contoso.onmicrosoft.com" grants "ADSynchronization.ReadWrite.All" of "Microsoft Entra AD Synchronization Service" to "ContosoSync"
    Then Graph answers 201
    When the administrator "hybridadmin@contoso.onmicrosoft.com" grants "PasswordWriteback.OffboardClient.All" of "Microsoft password reset service" to "ContosoSync"
    Then Graph answers 201
    When the administrator "hybridadmin@contoso.onmicrosoft.com" grants "PasswordWriteback.RegisterClientVersion.All" of "Microsoft password reset service" to "ContosoSync"
    Then Graph answers 201
    When the administrator "hybridadmin@contoso.onmicrosoft.com" grants "PasswordWriteback.RefreshClient.All" of "Microsoft password reset service" to "ContosoSync"
    Then Graph answers 201
    When "ContosoSync" requests a token for "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/.default"
    Then a token is issued with the roles "ADSynchronization.ReadWrite.All"
    When "ContosoSync" requests a token for "93625bc8-bfe2-437a-97e0-3d0060024faa/.default"
    Then a token is issued with the roles "PasswordWriteback.OffboardClient.All, PasswordWriteback.RefreshClient.All, PasswordWriteback.RegisterClientVersion.All"

  Scenario: The service principal is found however the documentation writes its address
    When the administrator "hybridadmin@contoso.onmicrosoft.com" reads the service principal of "Microsoft Entra AD Synchronization Service" as the documentation writes it
    Then Graph answers 200
    And the answer has only the properties "id"

  Scenario: A Global Administrator may grant the role as well
    When the administrator "admin@contoso.onmicrosoft.com" grants "ADSynchronization.ReadWrite.All" of "Microsoft Entra AD Synchronization Service" to "ContosoSync"
    Then Graph answers 201
    When "ContosoSync" requests a token for "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/.default"
    Then a token is issued with the roles "ADSynchronization.ReadWrite.All"

  Scenario: An ordinary user may read the service principals but not grant their roles
    When the user "user@contoso.onmicrosoft.com" reads the service principal of "Microsoft Entra AD Synchronization Service"
    Then Graph answers 200
    When the user "user@contoso.onmicrosoft.com" grants "ADSynchronization.ReadWrite.All" of "Microsoft Entra AD Synchronization Service" to "ContosoSync"
    Then Graph answers 403 with error code "Authorization_RequestDenied"
    And Graph's error message is "Insufficient privileges to complete the operation."
    When the user "user@contoso.onmicrosoft.com" sets the required permissions of "ContosoSync" to "ADSynchronization.ReadWrite.All"
    Then Graph answers 403 with error code "Authorization_RequestDenied"
    When "ContosoSync" requests a token for "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/.default"
    Then a token is issued with the roles "none"

  Scenario Outline: Graph refuses a request whose bearer token is <token>
    When the service principal of "Microsoft Entra AD Synchronization Service" is read <how>
    Then Graph answers 401 with error code "InvalidAuthenticationToken"

    Examples:
      | token      | how                                      |
      | missing    | without a bearer token                   |
      | empty      | with an empty bearer token               |
      | not a JWT  | with a bearer token that is not a JWT    |
      | forged     | with a forged bearer token               |

  @mock-only
  Scenario: Graph refuses an administrator's expired token
    Given the administrator "hybridadmin@contoso.onmicrosoft.com" has signed in to Graph
    And the tenant clock moves forward 1 days
    When the administrator "hybridadmin@contoso.onmicrosoft.com" reads the service principal of "Microsoft Entra AD Synchronization Service"
    Then Graph answers 401 with error code "InvalidAuthenticationToken"
    And Graph's error message mentions "expired"

  Scenario: Assigning a role twice is refused
    Given the administrator "hybridadmin@contoso.onmicrosoft.com" grants "ADSynchronization.ReadWrite.All" of "Microsoft Entra AD Synchronization Service" to "ContosoSync"
    When the administrator "hybridadmin@contoso.onmicrosoft.com" grants "ADSynchronization.ReadWrite.All" of "Microsoft Entra AD Synchronization Service" to "ContosoSync"
    Then Graph answers 400 with error code "Request_BadRequest"
    And Graph's error message is "Permission being assigned already exists on the object."
    When "ContosoSync" requests a token for "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/.default"
    Then a token is issued with the roles "ADSynchronization.ReadWrite.All"

  Scenario: Assigning a role the resource does not define is refused
    When the administrator "hybridadmin@contoso.onmicrosoft.com" grants an app role that "Microsoft Entra AD Synchronization Service" does not define to "ContosoSync"
    Then Graph answers 400 with error code "Request_BadRequest"
    And Graph's error message mentions "Permission being assigned was not found"
    When "ContosoSync" requests a token for "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/.default"
    Then a token is issued with the roles "none"

  Scenario: An Application Administrator can add a certificate to the sync application and act as it
    Given the administrator "hybridadmin@contoso.onmicrosoft.com" grants "ADSynchronization.ReadWrite.All" of "Microsoft Entra AD Synchronization Service" to "ContosoSync"
    When the administrator "appadmin@contoso.onmicrosoft.com" adds a certificate "appadmin's certificate" to the application "ContosoSync"
    Then Graph answers 204
    And the application "ContosoSync" has 2 certificate credentials in Graph
    When "appadmin's certificate" requests a token for "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/.default"
    Then a token is issued with the roles "ADSynchronization.ReadWrite.All"

  Scenario: An ordinary user cannot add a certificate to the sync application
    When the user "user@contoso.onmicrosoft.com" adds a certificate "user's certificate" to the application "ContosoSync"
    Then Graph answers 403 with error code "Authorization_RequestDenied"
    And the application "ContosoSync" has 1 certificate credential in Graph

  Scenario: An application rolls its own key with addKey and needs no permission for it
    When the application "ContosoSync" adds a certificate "next" to itself with addKey and a valid proof
    Then Graph answers 200
    And the application "ContosoSync" has 2 certificate credentials in Graph
    When "next" requests a token for "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/.default"
    Then a token is issued with the roles "none"

  Scenario Outline: addKey refuses <proof>
    When the application "ContosoSync" adds a certificate "next" to itself with addKey and <proof>
    Then Graph answers 401 with error code "Authentication_MissingOrMalformed"
    And Graph's error message mentions "Access Token missing or malformed."
    And the application "ContosoSync" has 1 certificate credential in Graph

    Examples:
      | proof                         |
      | a proof signed by another key |
      | a proof for Microsoft Graph   |
      | a proof naming its appId      |
      | a proof that lives 20 minutes |
      | no proof                      |

  Scenario: A delegated token may do only what its scopes allow, whatever the user's roles
    Given the administrator "admin@contoso.onmicrosoft.com" registers a public client application "Reader"
    And the administrator "admin@contoso.onmicrosoft.com" consents to "User.Read" of "Microsoft Graph" for "Reader" on behalf of every user
    When "admin@contoso.onmicrosoft.com" signs in with the password "Passw0rd!" through "Reader" for "https://graph.microsoft.com/.default"
    Then a token is issued
    And the token's "scp" claim is "User.Read"
    And the token's "wids" claim is "62e90394-69f5-4237-9190-012177145e10"
    When the last token is used to read "applications" from Graph
    Then Graph answers 403 with error code "Authorization_RequestDenied"
    And Graph's error message is "Insufficient privileges to complete the operation."
    When the last token is used to read "servicePrincipals" from Graph
    Then Graph answers 403 with error code "Authorization_RequestDenied"
    When the last token is used to read "directoryRoles" from Graph
    Then Graph answers 403 with error code "Authorization_RequestDenied"
    When the last token is used to read "users" from Graph
    Then Graph answers 403 with error code "Authorization_RequestDenied"
    When the last token is used to read "me" from Graph
    Then Graph answers 200
    When the last token is used to read "organization" from Graph
    Then Graph answers 200

  Scenario: An administrator consents for a public client through Graph, changes the consent and takes it back
    Given the administrator "admin@contoso.onmicrosoft.com" registers a public client application "Reader"
    When "user@contoso.onmicrosoft.com" signs in with the password "Passw0rd!" through "Reader" for "https://graph.microsoft.com/.default"
    Then the request is refused with AADSTS65001, error "invalid_grant" and status 400
    And the refusal's suberror is "consent_required"
    When the administrator "appadmin@contoso.onmicrosoft.com" consents to "User.Read Application.Read.All" of "Microsoft Graph" for "Reader" on behalf of every user
    Then Graph answers 201
    When the administrator "appadmin@contoso.onmicrosoft.com" lists the permission grants of "Reader"
    Then Graph answers 200
    And the answer is one permission grant for every user with the scope "User.Read Application.Read.All"
    When "user@contoso.onmicrosoft.com" signs in with the password "Passw0rd!" through "Reader" for "https://graph.microsoft.com/.default"
    Then a token is issued
    And the token's "scp" claim is "User.Read Application.Read.All"
    When the last token is used to read "applications" from Graph
    Then Graph answers 200
    When the administrator "appadmin@contoso.onmicrosoft.com" changes the scope of the permission grant to "User.Read"
    Then Graph answers 204
    When the administrator "appadmin@contoso.onmicrosoft.com" reads the permission grant
    Then Graph answers 200
    And the answer is one permission grant for every user with the scope "User.Read"
    When "user@contoso.onmicrosoft.com" signs in with the password "Passw0rd!" through "Reader" for "https://graph.microsoft.com/.default"
    Then the token's "scp" claim is "User.Read"
    When the administrator "appadmin@contoso.onmicrosoft.com" deletes the permission grant
    Then Graph answers 204
    When "user@contoso.onmicrosoft.com" signs in with the password "Passw0rd!" through "Reader" for "https://graph.microsoft.com/.default"
    Then the request is refused with AADSTS65001, error "invalid_grant" and status 400

  Scenario: The same consent twice is refused
    Given the administrator "admin@contoso.onmicrosoft.com" registers a public client application "Reader"
    And the administrator "admin@contoso.onmicrosoft.com" consents to "User.Read" of "Microsoft Graph" for "Reader" on behalf of every user
    When the administrator "admin@contoso.onmicrosoft.com" consents to "User.Read" of "Microsoft Graph" for "Reader" on behalf of every user
    Then Graph answers 409 with error code "Request_MultipleObjectsWithSameKeyValue"
    And Graph's error message is "Permission entry already exists."

  Scenario: Neither an ordinary user nor a Hybrid Identity Administrator consents for everyone
    Given the administrator "admin@contoso.onmicrosoft.com" registers a public client application "Reader"
    When the user "user@contoso.onmicrosoft.com" consents to "User.Read" of "Microsoft Graph" for "Reader" on behalf of every user
    Then Graph answers 403 with error code "Authorization_RequestDenied"
    When the administrator "hybridadmin@contoso.onmicrosoft.com" consents to "User.Read" of "Microsoft Graph" for "Reader" on behalf of every user
    Then Graph answers 403 with error code "Authorization_RequestDenied"

  Scenario: isFallbackPublicClient decides whether the password grant needs the client's credential
    Given the administrator "admin@contoso.onmicrosoft.com" consents to "User.Read" of "Microsoft Graph" for "ContosoSync" on behalf of every user
    When "user@contoso.onmicrosoft.com" signs in with the password "Passw0rd!" through "ContosoSync" for "https://graph.microsoft.com/.default"
    Then the request is refused with AADSTS7000218, error "invalid_client" and status 401
    When the administrator "admin@contoso.onmicrosoft.com" sets isFallbackPublicClient of "ContosoSync" to true
    Then Graph answers 204
    When "user@contoso.onmicrosoft.com" signs in with the password "Passw0rd!" through "ContosoSync" for "https://graph.microsoft.com/.default"
    Then a token is issued
    And the token's "appidacr" claim is "0"
    And the token's "scp" claim is "User.Read"

  Scenario: An Application Administrator grants the synchronization and password reset roles, but not Microsoft Graph's
    When the administrator "appadmin@contoso.onmicrosoft.com" grants "ADSynchronization.ReadWrite.All" of "Microsoft Entra AD Synchronization Service" to "ContosoSync"
    Then Graph answers 201
    When the administrator "appadmin@contoso.onmicrosoft.com" grants "PasswordWriteback.RefreshClient.All" of "Microsoft password reset service" to "ContosoSync"
    Then Graph answers 201
    When the administrator "appadmin@contoso.onmicrosoft.com" grants "Application.Read.All" of "Microsoft Graph" to "ContosoSync"
    Then Graph answers 403 with error code "Authorization_RequestDenied"
    When "ContosoSync" requests a token for "https://graph.microsoft.com/.default"
    Then a token is issued with the roles "none"
    When the administrator "admin@contoso.onmicrosoft.com" grants "Application.Read.All" of "Microsoft Graph" to "ContosoSync"
    Then Graph answers 201
    When "ContosoSync" requests a token for "https://graph.microsoft.com/.default"
    Then a token is issued with the roles "Application.Read.All"

  Scenario: An Application Administrator consents to delegated permissions of Microsoft Graph
    Given the administrator "admin@contoso.onmicrosoft.com" registers a public client application "Reader"
    When the administrator "appadmin@contoso.onmicrosoft.com" consents to "User.Read" of "Microsoft Graph" for "Reader" on behalf of every user
    Then Graph answers 201

  Scenario: A certificate on the service principal authenticates the application and hides from its registration
    Given the administrator "hybridadmin@contoso.onmicrosoft.com" grants "ADSynchronization.ReadWrite.All" of "Microsoft Entra AD Synchronization Service" to "ContosoSync"
    When the administrator "appadmin@contoso.onmicrosoft.com" adds a certificate "hidden" to the service principal of "ContosoSync"
    Then Graph answers 204
    And the service principal of "ContosoSync" has 1 certificate credential in Graph
    And the application "ContosoSync" has 1 certificate credential in Graph
    When "hidden" requests a token for "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/.default"
    Then a token is issued with the roles "ADSynchronization.ReadWrite.All"

  Scenario: A service principal rolls its own key with addKey and a proof naming the service principal
    Given the administrator "appadmin@contoso.onmicrosoft.com" adds a certificate "hidden" to the service principal of "ContosoSync"
    When "hidden" adds a certificate "next" to its service principal with addKey and a proof naming the application's object id
    Then Graph answers 401 with error code "Authentication_MissingOrMalformed"
    When "hidden" adds a certificate "next" to its service principal with addKey and a valid proof
    Then Graph answers 200
    And the service principal of "ContosoSync" has 2 certificate credentials in Graph
    When "next" requests a token for "https://graph.microsoft.com/.default"
    Then a token is issued

  # It deletes a first-party service principal of its tenant: it needs a tenant of its own.
  @mock-only
  Scenario: The password reset service's principal is made on demand with its app roles
    Given the administrator "admin@contoso.onmicrosoft.com" deletes the service principal of "Microsoft password reset service"
    When the administrator "hybridadmin@contoso.onmicrosoft.com" reads the service principal of "Microsoft password reset service"
    Then Graph answers 404 with error code "Request_ResourceNotFound"
    When the administrator "appadmin@contoso.onmicrosoft.com" creates the service principal of "Microsoft password reset service"
    Then Graph answers 201
    And the answer's "appOwnerOrganizationId" is "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
    And the answer's "displayName" is "Microsoft password reset service"
    When the administrator "hybridadmin@contoso.onmicrosoft.com" reads the app roles of "Microsoft password reset service"
    Then Graph answers 200
    And the answer lists the app roles "PasswordWriteback.OffboardClient.All, PasswordWriteback.RegisterClientVersion.All, PasswordWriteback.RefreshClient.All"
    When the administrator "hybridadmin@contoso.onmicrosoft.com" grants "PasswordWriteback.RefreshClient.All" of "Microsoft password reset service" to "ContosoSync"
    Then Graph answers 201
    When "ContosoSync" requests a token for "93625bc8-bfe2-437a-97e0-3d0060024faa/.default"
    Then a token is issued with the roles "PasswordWriteback.RefreshClient.All"

  Scenario: An appId that no application has keeps Graph's refusal
    When the administrator "appadmin@contoso.onmicrosoft.com" creates the service principal of "11111111-2222-3333-4444-555555555555"
    Then Graph answers 400 with error code "Request_BadRequest"
    And Graph's error message is "The appId '11111111-2222-3333-4444-555555555555' of the service principal does not reference a valid application object."
    And Graph's error details name "NoBackingApplicationObject" on "appId"

  Scenario: Azure AD Graph's principal on demand, whose application permissions are beyond an Application Administrator
    When the administrator "appadmin@contoso.onmicrosoft.com" creates the service principal of "00000002-0000-0000-c000-000000000000"
    Then Graph answers 201
    And the answer's "displayName" is "Windows Azure Active Directory"
    When the administrator "appadmin@contoso.onmicrosoft.com" grants "Directory.Read.All" of "00000002-0000-0000-c000-000000000000" to "ContosoSync"
    Then Graph answers 403 with error code "Authorization_RequestDenied"
    When the administrator "admin@contoso.onmicrosoft.com" grants "Directory.Read.All" of "00000002-0000-0000-c000-000000000000" to "ContosoSync"
    Then Graph answers 201
    When the administrator "admin@contoso.onmicrosoft.com" creates the service principal of "00000002-0000-0000-c000-000000000000"
    Then Graph answers 409 with error code "Request_MultipleObjectsWithSameKeyValue"
