@mock-only
Feature: Removing the legacy service account
  Once the connector uses its application, the legacy Sync_ account is removed; a custom account
  that cannot be removed loses the Directory Synchronization Accounts role instead.

  Background:
    Given a tenant
    And a sync server "AZCONNECT" without a TPM

  Scenario: The Sync_ account is deleted after onboarding
    Given the sync server is installed at version "2.4.129.0" by "hybridadmin"
    And the sync server is upgraded to version "2.5.79.0"
    Then the tenant has a user "Sync_AZCONNECT_" with the Directory Synchronization Accounts role
    Given the administrator "hybridadmin" onboards the sync server
    When the administrator "hybridadmin" removes the legacy service account
    Then the operation succeeded
    And the tenant has no user "Sync_AZCONNECT_"
    When a sync cycle runs
    Then the sync cycle succeeded

  Scenario: The service account stays while the connector still uses it
    Given the sync server is installed at version "2.4.129.0" by "hybridadmin"
    And the sync server is upgraded to version "2.5.79.0"
    When the administrator "hybridadmin" removes the legacy service account
    Then the operation failed saying "still authenticates with the service account"
    And the tenant has a user "Sync_AZCONNECT_" with the Directory Synchronization Accounts role

  Scenario: A custom service account is deprivileged instead
    Given the sync server is installed at version "2.4.129.0" by "hybridadmin" with the custom service account "svc-aadsync"
    And the sync server is upgraded to version "2.5.79.0"
    Then the tenant has a user "svc-aadsync@" with the Directory Synchronization Accounts role
    Given the administrator "hybridadmin" onboards the sync server
    When the administrator "hybridadmin" removes the legacy service account
    Then the operation succeeded
    And the tenant has a user "svc-aadsync@" without any directory role
