@mock-only
Feature: Rotating a certificate the administrator brought (BYOC, BYOA)
  The newer revision of the article gives the PowerShell steps: disable the scheduler; rotate
  with Invoke-ADSyncApplicationCredentialRotation -CertificateSHA256Hash (BYOC) or
  Add-EntraApplicationRegistration -CertificateSHA256Hash (BYOA); check that
  ConnectorIdentityType is Application; enable the scheduler; see a sync cycle succeed; remove
  the old certificate from LOCAL_MACHINE. A certificate can be rotated at any time, also after
  it has expired (then with an administrator's sign-in: the application can no longer add a
  key with it).

  Background:
    Given a tenant
    And a sync server "AZCONNECT" without a TPM
    And the sync server is installed at version "2.4.129.0" by "hybridadmin"
    And the sync server is upgraded to version "2.5.79.0"

  Scenario: BYOC rotation, step by step
    Given an administrator's certificate "old" in LOCAL_MACHINE with a software key
    And an administrator's certificate "new" in LOCAL_MACHINE with a software key
    And the administrator "hybridadmin" onboards the sync server with certificate "old"
    And the scheduler setting SyncCycleEnabled is set to false
    When the sync server rotates its credential to certificate "new"
    Then the operation succeeded
    And the certificate was rotated
    And the connector identity type is Application
    And the sync application has 1 certificate credential
    Given the scheduler setting SyncCycleEnabled is set to true
    When the scheduler runs
    Then the sync cycle succeeded
    When the administrator removes the certificate "old" from LOCAL_MACHINE
    Then the operation succeeded
    And the certificate "old" and its key are no longer in LOCAL_MACHINE
    When a sync cycle runs
    Then the sync cycle succeeded

  Scenario: The certificate the connector uses cannot be removed from LOCAL_MACHINE
    Given an administrator's certificate "old" in LOCAL_MACHINE with a software key
    And the administrator "hybridadmin" onboards the sync server with certificate "old"
    When the administrator removes the certificate "old" from LOCAL_MACHINE
    Then the operation failed saying "cannot be removed from LOCAL_MACHINE: the connector authenticates with it"
    And the certificate "old" is in LOCAL_MACHINE
    When a sync cycle runs
    Then the sync cycle succeeded

  Scenario: BYOC rotation of an expired certificate needs the administrator
    Given an administrator's certificate "old" in LOCAL_MACHINE valid for 200 days
    And an administrator's certificate "new" in LOCAL_MACHINE valid for 400 days
    And the administrator "hybridadmin" onboards the sync server with certificate "old"
    And the scheduler setting SyncCycleEnabled is set to false
    When the clocks move to 2 days after the certificate expired
    And the sync server rotates its credential to certificate "new"
    Then the operation failed saying "--admin-upn"
    And the certificate was not rotated
    When the sync server rotates its credential to certificate "new" with the administrator "hybridadmin"
    Then the operation succeeded
    And the certificate was rotated
    And the sync application has 1 certificate credential
    Given the scheduler setting SyncCycleEnabled is set to true
    When a sync cycle runs
    Then the sync cycle succeeded
    When the administrator removes the certificate "old" from LOCAL_MACHINE
    Then the certificate "old" and its key are no longer in LOCAL_MACHINE

  Scenario: BYOA rotation, step by step
    Given an administrator's certificate "old" in LOCAL_MACHINE with a software key
    And an administrator's certificate "new" in LOCAL_MACHINE with a software key
    And the administrator registers an application "ContosoSync" with certificate "old"
    And the administrator grants "ADSynchronization.ReadWrite.All" on "Microsoft Entra AD Synchronization Service" to the application "ContosoSync"
    And the administrator "hybridadmin" links the application "ContosoSync" with certificate "old"
    And the scheduler setting SyncCycleEnabled is set to false
    When the administrator "hybridadmin" runs Add-EntraApplicationRegistration with certificate "new"
    Then the operation succeeded
    And the certificate was rotated
    And the connector identity type is Application
    And the application "ContosoSync" has only the certificate "new"
    Given the scheduler setting SyncCycleEnabled is set to true
    When the scheduler runs
    Then the sync cycle succeeded
    When the administrator removes the certificate "old" from LOCAL_MACHINE
    Then the operation succeeded
    And the certificate "old" and its key are no longer in LOCAL_MACHINE

  Scenario: BYOA rotation to a certificate the administrator already registered adds it once
    Given an administrator's certificate "old" in LOCAL_MACHINE with a software key
    And an administrator's certificate "new" in LOCAL_MACHINE with a software key
    And the administrator registers an application "ContosoSync" with certificate "old"
    And the administrator grants "ADSynchronization.ReadWrite.All" on "Microsoft Entra AD Synchronization Service" to the application "ContosoSync"
    And the administrator "hybridadmin" links the application "ContosoSync" with certificate "old"
    And the administrator adds certificate "new" to the application "ContosoSync"
    When the administrator "hybridadmin" runs Add-EntraApplicationRegistration with certificate "new"
    Then the operation succeeded
    And the certificate was rotated
    And the application "ContosoSync" has only the certificate "new"

  Scenario: BYOA rotation of an expired certificate
    Given an administrator's certificate "old" in LOCAL_MACHINE valid for 200 days
    And an administrator's certificate "new" in LOCAL_MACHINE valid for 400 days
    And the administrator registers an application "ContosoSync" with certificate "old"
    And the administrator grants "ADSynchronization.ReadWrite.All" on "Microsoft Entra AD Synchronization Service" to the application "ContosoSync"
    And the administrator "hybridadmin" links the application "ContosoSync" with certificate "old"
    When the clocks move to 2 days after the certificate expired
    And a sync cycle runs
    Then the sync cycle failed saying "AADSTS700027"
    When the administrator "hybridadmin" runs Add-EntraApplicationRegistration with certificate "new"
    Then the operation succeeded
    And the certificate was rotated
    And the application "ContosoSync" has only the certificate "new"
    When a sync cycle runs
    Then the sync cycle succeeded

  Scenario: Add-EntraApplicationRegistration does not rotate a certificate Connect Sync manages
    Given the administrator "hybridadmin" onboards the sync server
    And an administrator's certificate "new" in LOCAL_MACHINE with a software key
    When the administrator "hybridadmin" runs Add-EntraApplicationRegistration with certificate "new"
    Then the operation failed saying "ConnectorIdentityType is already Application"
