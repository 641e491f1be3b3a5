Feature: What an application exposes is stored and honoured, or refused as Graph refuses it
  An administrator changes what an application exposes through Graph: its app roles, its
  delegated permissions (`api`), the names tokens ask for it by (`identifierUris`) and its `web`
  settings. Entra keeps them and the application's service principal offers them; a change Entra
  refuses is refused with Graph's own code, never accepted and dropped. Properties the mock does
  not act on (`notes`, `optionalClaims`, `spa`, …) are kept as sent.

  Background:
    Given a tenant
    And an application "Inventory" with a certificate
    And an application "Stocktaker" with a certificate

  Scenario: App roles set on an application are offered by its service principal and reach the token
    When the administrator "appadmin@contoso.onmicrosoft.com" sets "appRoles" of the application "Inventory" to '[{"id":"4e9a3c61-1b7f-4d7e-9d0b-2f6c1a8e5b01","value":"Inventory.Read","displayName":"Read the inventory","description":"Reads the inventory","allowedMemberTypes":["Application"],"isEnabled":true}]'
    Then Graph answers 204
    When the administrator "appadmin@contoso.onmicrosoft.com" reads "appRoles" of the application "Inventory"
    Then Graph answers 200
    And the answer lists the app roles "Inventory.Read"
    When the administrator "appadmin@contoso.onmicrosoft.com" reads the app roles of "Inventory"
    Then the answer lists the app roles "Inventory.Read"
    When the administrator "appadmin@contoso.onmicrosoft.com" grants "Inventory.Read" of "Inventory" to "Stocktaker"
    Then Graph answers 201
    When "Stocktaker" requests a token for "<appId of Inventory>/.default"
    Then a token is issued with the roles "Inventory.Read"

  Scenario: An enabled app role is disabled before it is removed, and its assignments go with it
    Given the administrator "appadmin@contoso.onmicrosoft.com" sets "appRoles" of the application "Inventory" to '[{"id":"4e9a3c61-1b7f-4d7e-9d0b-2f6c1a8e5b01","value":"Inventory.Read","displayName":"Read","description":"Read","allowedMemberTypes":["Application"],"isEnabled":true}]'
    And the administrator "appadmin@contoso.onmicrosoft.com" grants "Inventory.Read" of "Inventory" to "Stocktaker"
    When the administrator "appadmin@contoso.onmicrosoft.com" sets "appRoles" of the application "Inventory" to '[]'
    Then Graph answers 400 with error code "CannotDeleteOrUpdateEnabledEntitlement"
    And Graph's error message is "Permission (scope or role) cannot be deleted or updated unless disabled first."
    When the administrator "appadmin@contoso.onmicrosoft.com" sets "appRoles" of the application "Inventory" to '[{"id":"4e9a3c61-1b7f-4d7e-9d0b-2f6c1a8e5b01","value":"Inventory.Write","displayName":"Read","description":"Read","allowedMemberTypes":["Application"],"isEnabled":true}]'
    Then Graph answers 400 with error code "CannotDeleteOrUpdateEnabledEntitlement"
    When the administrator "appadmin@contoso.onmicrosoft.com" sets "appRoles" of the application "Inventory" to '[{"id":"4e9a3c61-1b7f-4d7e-9d0b-2f6c1a8e5b01","value":"Inventory.Read","displayName":"Read","description":"Read","allowedMemberTypes":["Application"],"isEnabled":false}]'
    Then Graph answers 204
    When the administrator "appadmin@contoso.onmicrosoft.com" sets "appRoles" of the application "Inventory" to '[]'
    Then Graph answers 204
    When "Stocktaker" requests a token for "<appId of Inventory>/.default"
    Then a token is issued with the roles "none"

  Scenario: Two app roles with one value are refused
    When the administrator "appadmin@contoso.onmicrosoft.com" sets "appRoles" of the application "Inventory" to '[{"id":"4e9a3c61-1b7f-4d7e-9d0b-2f6c1a8e5b01","value":"Inventory.Read","displayName":"a","description":"a","allowedMemberTypes":["Application"],"isEnabled":true},{"id":"9d0b2f6c-1a8e-4b01-8e9a-3c611b7f4d7e","value":"Inventory.Read","displayName":"b","description":"b","allowedMemberTypes":["User"],"isEnabled":true}]'
    Then Graph answers 400 with error code "DuplicateValue"
    And Graph's error details name "DuplicateValue" on "appRoles"

  Scenario: An app role nobody may be assigned is refused
    When the administrator "appadmin@contoso.onmicrosoft.com" sets "appRoles" of the application "Inventory" to '[{"id":"4e9a3c61-1b7f-4d7e-9d0b-2f6c1a8e5b01","value":"Inventory.Read","displayName":"a","description":"a","allowedMemberTypes":[],"isEnabled":true}]'
    Then Graph answers 400 with error code "Request_BadRequest"
    And Graph's error message is "App role with identifier '4e9a3c61-1b7f-4d7e-9d0b-2f6c1a8e5b01' must have at least one value specified for 'allowedMemberTypes'."

  Scenario: A delegated permission the application exposes is consented and lands in the user's token
    Given the administrator "admin@contoso.onmicrosoft.com" registers a public client application "Counter"
    And the administrator "appadmin@contoso.onmicrosoft.com" sets "api" of the application "Inventory" to '{"oauth2PermissionScopes":[{"id":"7c2d9e40-5a1b-4c3d-8e6f-0a1b2c3d4e5f","value":"Inventory.Count","type":"User","adminConsentDisplayName":"Count","adminConsentDescription":"Count","userConsentDisplayName":"Count","userConsentDescription":"Count","isEnabled":true}]}'
    And the administrator "appadmin@contoso.onmicrosoft.com" sets "identifierUris" of the application "Inventory" to '["api://<appId of Inventory>"]'
    When the administrator "appadmin@contoso.onmicrosoft.com" reads "api" of the application "Inventory"
    Then Graph answers 200
    And the answer's "api" is the JSON '{"oauth2PermissionScopes":[{"id":"7c2d9e40-5a1b-4c3d-8e6f-0a1b2c3d4e5f","value":"Inventory.Count","type":"User","adminConsentDisplayName":"Count","adminConsentDescription":"Count","userConsentDisplayName":"Count","userConsentDescription":"Count","isEnabled":true}]}'
    When the administrator "admin@contoso.onmicrosoft.com" consents to "Inventory.Count" of "Inventory" for "Counter" on behalf of every user
    Then Graph answers 201
    When "user@contoso.onmicrosoft.com" signs in with the password "Passw0rd!" through "Counter" for "api://<appId of Inventory>/.default"
    Then a token is issued
    And the token's "scp" claim is "Inventory.Count"

  Scenario: An identifier URI the application is given names it in token requests
    When the administrator "appadmin@contoso.onmicrosoft.com" sets "identifierUris" of the application "Inventory" to '["api://<appId of Inventory>"]'
    Then Graph answers 204
    When the administrator "appadmin@contoso.onmicrosoft.com" reads "identifierUris" of the application "Inventory"
    Then the answer's "identifierUris" is the JSON '["api://<appId of Inventory>"]'
    When "Stocktaker" requests a token for "api://<appId of Inventory>/.default"
    Then a token is issued

  Scenario Outline: An identifier URI outside the tenant's verified domains is refused: <uri>
    When the administrator "appadmin@contoso.onmicrosoft.com" sets "identifierUris" of the application "Inventory" to '["<uri>"]'
    Then Graph answers 400 with error code "HostNameNotOnVerifiedDomain"
    And Graph's error message is "Values of identifierUris property must use a verified domain of the organization or its subdomain: '<uri>'"

    Examples:
      | uri                            |
      | api://inventory                |
      | https://fabrikam.com/inventory |
      | urn:contoso:inventory          |

  Scenario: An identifier URI another application has is refused
    Given the administrator "appadmin@contoso.onmicrosoft.com" sets "identifierUris" of the application "Inventory" to '["https://<tenant domain>/<appId of Inventory>"]'
    When the administrator "appadmin@contoso.onmicrosoft.com" sets "identifierUris" of the application "Stocktaker" to '["https://<tenant domain>/<appId of Inventory>"]'
    Then Graph answers 400 with error code "Request_BadRequest"
    And Graph's error message is "Another object with the same value for property identifierUris already exists."

  Scenario: web settings are kept, merged member by member
    Given the administrator "appadmin@contoso.onmicrosoft.com" sets "web" of the application "Inventory" to '{"redirectUris":["https://localhost/callback"]}'
    When the administrator "appadmin@contoso.onmicrosoft.com" sets "web" of the application "Inventory" to '{"homePageUrl":"https://contoso.onmicrosoft.com/inventory"}'
    Then Graph answers 204
    When the administrator "appadmin@contoso.onmicrosoft.com" reads "web" of the application "Inventory"
    Then the answer's "web" is the JSON '{"redirectUris":["https://localhost/callback"],"homePageUrl":"https://contoso.onmicrosoft.com/inventory"}'

  Scenario: An application whose service principal is gone is not known to Graph
    Given the application "Stocktaker" has signed in to Graph
    And the administrator "admin@contoso.onmicrosoft.com" deletes the service principal of "Stocktaker"
    When the application "Stocktaker" reads "organization" from Graph
    Then Graph answers 401 with error code "Authorization_IdentityNotFound"
    And Graph's error message is "The identity of the calling application could not be established."

  Scenario: Properties the mock does not act on read back as they were set
    Given the administrator "appadmin@contoso.onmicrosoft.com" sets "notes" of the application "Inventory" to '"Owned by the stock team"'
    And the administrator "appadmin@contoso.onmicrosoft.com" sets "optionalClaims" of the application "Inventory" to '{"accessToken":[{"name":"ipaddr"}]}'
    When the administrator "appadmin@contoso.onmicrosoft.com" reads "notes,optionalClaims,spa" of the application "Inventory"
    Then Graph answers 200
    And the answer's "notes" is "Owned by the stock team"
    And the answer's "optionalClaims" is the JSON '{"accessToken":[{"name":"ipaddr"}]}'
    And the answer's "spa" is the JSON 'null'

  Scenario: A service principal's and a user's properties the mock does not act on read back as they were set
    When the administrator "admin@contoso.onmicrosoft.com" sets "notes" of the service principal of "Inventory" to '"Stock team"'
    Then Graph answers 204
    When the administrator "admin@contoso.onmicrosoft.com" reads "notes" of the service principal of "Inventory"
    Then the answer's "notes" is "Stock team"
    When the administrator "admin@contoso.onmicrosoft.com" sets "jobTitle" of the user "user@contoso.onmicrosoft.com" to '"Stocktaker"'
    Then Graph answers 204
    When the administrator "admin@contoso.onmicrosoft.com" reads "jobTitle" of the user "user@contoso.onmicrosoft.com"
    Then the answer's "jobTitle" is "Stocktaker"
