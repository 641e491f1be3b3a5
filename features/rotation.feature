@mock-only
Feature: Rotation of the application credential
  Connect Sync rotates the certificate it manages when rotation is due (150 days before
  expiry): a new key and certificate, addKey with a proof signed by the current key, the
  switch, removeKey of the old one. Any certificate can also be rotated on demand, even an
  expired one (then with an administrator's sign-in, since addKey needs a valid key).

  Background:
    Given a tenant

  @tpm
  Scenario: Automatic rotation of the managed certificate
    Given a sync server "AZCONNECT" with a TPM
    And the sync server is installed at version "2.5.79.0" by "hybridadmin"
    When the clocks move to 150 days before the certificate expires
    And the scheduler runs
    Then the certificate was rotated
    And the scheduler run logged event 1011
    And the scheduler run logged event 1013
    And the scheduler run logged no event 1015
    And the sync application has 1 certificate credential
    And the old certificate left the sync server
    And the connector credential shows the certificate managed by "Microsoft Entra Connect Sync" with its key in TPM
    And the sync cycle succeeded

  Scenario: No automatic rotation while the scheduler is suspended
    Given a sync server "AZCONNECT" without a TPM
    And the sync server is installed at version "2.5.79.0" by "hybridadmin"
    And the scheduler setting SchedulerSuspended is set to true
    When the clocks move to 100 days before the certificate expires
    And the scheduler runs
    Then the scheduler run did nothing
    And the certificate was not rotated
    And the sync application has 1 certificate credential

  Scenario: No automatic rotation and no warning while maintenance is disabled
    Given a sync server "AZCONNECT" without a TPM
    And the sync server is installed at version "2.5.79.0" by "hybridadmin"
    And the scheduler setting MaintenanceEnabled is set to false
    When the clocks move to 100 days before the certificate expires
    And the scheduler runs
    Then the scheduler run logged no event 1011
    And the certificate was not rotated
    And the sync cycle succeeded

  Scenario: On-demand rotation of a certificate that is not due
    Given a sync server "AZCONNECT" without a TPM
    And the sync server is installed at version "2.5.79.0" by "hybridadmin"
    When the sync server rotates its credential on demand
    Then the operation succeeded
    And the certificate was rotated
    And the sync application has 1 certificate credential
    When a sync cycle runs
    Then the sync cycle succeeded

  Scenario: On-demand rotation of an expired certificate needs the administrator
    Given a sync server "AZCONNECT" without a TPM
    And the sync server is installed at version "2.5.79.0" by "hybridadmin"
    And the scheduler setting SchedulerSuspended is set to true
    When the clocks move to 2 days after the certificate expired
    And the sync server rotates its credential on demand
    Then the operation failed saying "--admin-upn"
    When the sync server rotates its credential on demand with the administrator "hybridadmin"
    Then the operation succeeded
    And the certificate was rotated
    And the sync application has 1 certificate credential
    When a sync cycle runs
    Then the sync cycle succeeded

  Scenario: BYOC rotation to the administrator's new certificate
    Given a sync server "AZCONNECT" without a TPM
    And the sync server is installed at version "2.4.129.0" by "hybridadmin"
    And the sync server is upgraded to version "2.5.79.0"
    And an administrator's certificate "old" in LOCAL_MACHINE with a software key
    And an administrator's certificate "new" in LOCAL_MACHINE with a software key
    And the administrator "hybridadmin" onboards the sync server with certificate "old"
    When the sync server rotates its credential to certificate "new"
    Then the operation succeeded
    And the certificate was rotated
    And the sync application has 1 certificate credential
    When a sync cycle runs
    Then the sync cycle succeeded
