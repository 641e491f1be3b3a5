@mock-only
Feature: Rolling back to the legacy service account
  Add-ADSyncAADServiceAccount re-creates the Sync_ account and switches the connector back to
  ServiceAccount. The new account can take up to 15 minutes to take effect: sync cycles meet
  "Access Denied" until then, and succeed after.

  Scenario: Rollback after the legacy account was removed
    Given a tenant
    And a sync server "AZCONNECT" without a TPM
    And the sync server is installed at version "2.4.129.0" by "hybridadmin"
    And the sync server is upgraded to version "2.5.79.0"
    And the administrator "hybridadmin" onboards the sync server
    And the administrator "hybridadmin" removes the legacy service account
    Then the tenant has no user "Sync_AZCONNECT_"
    Given the scheduler setting SyncCycleEnabled is set to false
    And the tenant delays new directory role assignments by 15 minutes
    When the administrator "hybridadmin" rolls the sync server back to a service account
    Then the operation succeeded
    And the connector identity type is ServiceAccount
    Given the scheduler setting SyncCycleEnabled is set to true
    When the scheduler runs
    Then the sync cycle failed with Access Denied
    And event 6900 was logged with level Error saying "Access Denied"
    When the clocks move forward 10 minutes
    And a sync cycle runs
    Then the sync cycle failed with Access Denied
    When the clocks move forward 5 minutes
    And a sync cycle runs
    Then the sync cycle succeeded
    And the tenant has a user "Sync_AZCONNECT_" with the Directory Synchronization Accounts role
