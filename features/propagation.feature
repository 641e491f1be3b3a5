Feature: Writes seen late, as Entra sees them, when the tenant asks for it
  Entra is eventually consistent: it answers a write at once, but for seconds to minutes other
  readers do not see it. A tenant whose propagation is "realistic" (`tenant.propagation` in a
  fixture, or `PUT /_mock/tenants/{id}/propagation`) holds each kind of write back by the delay
  people measured, so that a client's retry logic can be tested without fault rules. By default
  every write is seen at once. The tenant's clock decides when a write lands.

  Background:
    Given a tenant
    And an application "Connect Sync" with a certificate

  @mock-only
  Scenario: A new certificate is refused until it has propagated
    Given the tenant clock stands still
    And the tenant's writes propagate as in the "realistic" profile
    When the administrator "appadmin@contoso.onmicrosoft.com" adds a certificate "next" to the application "Connect Sync"
    Then Graph answers 204
    When "next" requests a token for "https://graph.microsoft.com/.default"
    Then the request is refused with AADSTS700027, error "invalid_client" and status 401
    When the tenant clock moves forward 14 seconds
    And "next" requests a token for "https://graph.microsoft.com/.default"
    Then the request is refused with AADSTS700027, error "invalid_client" and status 401
    When the tenant clock moves forward 1 seconds
    And "next" requests a token for "https://graph.microsoft.com/.default"
    Then a token is issued

  @mock-only
  Scenario: A new application's service principal is refused until the application has propagated
    Given the tenant clock stands still
    And the tenant's writes propagate as in the "realistic" profile
    When the administrator "appadmin@contoso.onmicrosoft.com" creates an application "Late"
    Then Graph answers 201
    When the administrator "appadmin@contoso.onmicrosoft.com" creates the service principal of "Late"
    Then Graph answers 400 with error code "Request_BadRequest"
    And Graph's error details name "NoBackingApplicationObject" on "appId"
    When the tenant clock moves forward 10 seconds
    And the administrator "appadmin@contoso.onmicrosoft.com" creates the service principal of "Late"
    Then Graph answers 201

  @mock-only
  Scenario: A new app role assignment reaches tokens once it has propagated
    Given the tenant clock stands still
    And the tenant's writes propagate as in the "realistic" profile
    When the administrator "hybridadmin@contoso.onmicrosoft.com" grants "ADSynchronization.ReadWrite.All" of "Microsoft Entra AD Synchronization Service" to "Connect Sync"
    Then Graph answers 201
    When "Connect Sync" requests a token for "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/.default"
    Then a token is issued with the roles "none"
    When the tenant clock moves forward 30 seconds
    And "Connect Sync" requests a token for "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/.default"
    Then a token is issued with the roles "ADSynchronization.ReadWrite.All"

  @mock-only
  Scenario: A new consent is asked for again until it has propagated
    Given the administrator "admin@contoso.onmicrosoft.com" registers a public client application "Reader"
    And the tenant clock stands still
    And the tenant's writes propagate as in the "realistic" profile
    When the administrator "admin@contoso.onmicrosoft.com" consents to "User.Read" of "Microsoft Graph" for "Reader" on behalf of every user
    Then Graph answers 201
    When "user@contoso.onmicrosoft.com" signs in with the password "Passw0rd!" through "Reader" for "https://graph.microsoft.com/.default"
    Then the request is refused with AADSTS65001, error "invalid_grant" and status 400
    When the tenant clock moves forward 30 seconds
    And "user@contoso.onmicrosoft.com" signs in with the password "Passw0rd!" through "Reader" for "https://graph.microsoft.com/.default"
    Then a token is issued
    And the token's "scp" claim is "User.Read"

  Scenario: By default a new certificate works at once
    When the administrator "appadmin@contoso.onmicrosoft.com" adds a certificate "next" to the application "Connect Sync"
    Then Graph answers 204
    When "next" requests a token for "https://graph.microsoft.com/.default"
    Then a token is issued

  @mock-only
  Scenario: A new user cannot sign in until the account has propagated
    Given the tenant clock stands still
    And the tenant's writes propagate as in the "realistic" profile
    And the administrator "admin@contoso.onmicrosoft.com" creates the user "newcomer" with the password "Str0ng-Passw0rd"
    When "newcomer@contoso.onmicrosoft.com" signs in with the password "Str0ng-Passw0rd" through "14d82eec-204b-4c2f-b7e8-296a70dab67e" for "https://graph.microsoft.com/.default"
    Then the request is refused with AADSTS50034, error "invalid_grant" and status 400
    When the tenant clock moves forward 5 seconds
    And "newcomer@contoso.onmicrosoft.com" signs in with the password "Str0ng-Passw0rd" through "14d82eec-204b-4c2f-b7e8-296a70dab67e" for "https://graph.microsoft.com/.default"
    Then a token is issued
