@mock-only
Feature: Reproducing a tenant's edge case from a fixture
  A fixture (or a snapshot a failing scenario saved) puts a tenant in the state a real tenant
  was in: its objects, credentials and clock. These scenarios start from the shipped fixtures
  (fixtures/README.md) and sign with the test keys shipped for their certificates.

  Scenario: A sync certificate 149 days from expiry still works, and stops at its end date
    Given the tenant from fixture "expiring-149-days"
    And the fixture's application "ConnectSyncProvisioning_SYNC01_0123456789ab" signs with the key "expiring-149-days"
    When "ConnectSyncProvisioning_SYNC01_0123456789ab" requests a token for "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/.default"
    Then a token is issued with the roles "ADSynchronization.ReadWrite.All"
    Given the tenant clock moves forward 149 days
    When "ConnectSyncProvisioning_SYNC01_0123456789ab" requests a token for "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/.default"
    Then the request is refused with AADSTS700027, error "invalid_client" and status 401
    And the error description mentions "The key used is expired."
    And the error description names the certificate credential of "ConnectSyncProvisioning_SYNC01_0123456789ab" as the key that was found

  Scenario: An expired sync certificate is refused as Entra refuses it
    Given the tenant from fixture "expired-certificate"
    And the fixture's application "ConnectSyncProvisioning_SYNC01_0123456789ab" signs with the key "expired-certificate"
    When "ConnectSyncProvisioning_SYNC01_0123456789ab" requests a token for "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/.default"
    Then the request is refused with AADSTS700027, error "invalid_client" and status 401
    And the error description mentions "The key used is expired."
    And the error description names the certificate credential of "ConnectSyncProvisioning_SYNC01_0123456789ab" as the key that was found

  Scenario: A credential someone else added to the sync application also gets its roles
    Given the tenant from fixture "foreign-credential"
    And the fixture's application "ConnectSyncProvisioning_SYNC01_0123456789ab" signs with the key "foreign-credential-foreign"
    When "ConnectSyncProvisioning_SYNC01_0123456789ab" requests a token for "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/.default"
    Then a token is issued with the roles "ADSynchronization.ReadWrite.All"
