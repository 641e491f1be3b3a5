@mock-only
Feature: Onboarding a sync server to application authentication
  A sync server still on its legacy service account (an older installation, upgraded without
  the checkbox) switches to an application identity with a certificate credential: managed by
  Connect Sync (key in the TPM when there is one), with the administrator's certificate (BYOC),
  or with the administrator's application (BYOA).

  Background:
    Given a tenant

  @tpm
  Scenario: Managed onboarding of an upgraded server puts the key in the TPM
    Given a sync server "AZCONNECT" with a TPM
    And the sync server is installed at version "2.4.129.0" by "hybridadmin"
    And the sync server is upgraded to version "2.5.79.0"
    Then the connector identity type is ServiceAccount
    When the administrator "hybridadmin" onboards the sync server
    Then the operation succeeded
    And the connector identity type is Application
    And the connector credential shows the certificate managed by "Microsoft Entra Connect Sync" with its key in TPM
    And the tenant has the sync application named after the server
    And the sync application holds "ADSynchronization.ReadWrite.All"
    And the sync application has 1 certificate credential
    And event 1018 was logged with level Information saying "Application"
    When a sync cycle runs
    Then the sync cycle succeeded

  Scenario: Managed onboarding without a TPM uses a software key
    Given a sync server "AZCONNECT" without a TPM
    And the sync server is installed at version "2.4.129.0" with password writeback by "admin"
    And the sync server is upgraded to version "2.5.79.0"
    When the administrator "admin" onboards the sync server
    Then the operation succeeded
    And the connector credential shows the certificate managed by "Microsoft Entra Connect Sync" with its key in Software
    And the sync application holds "ADSynchronization.ReadWrite.All"
    And the sync application holds "PasswordWriteback.RegisterClientVersion.All"
    And the sync application holds "PasswordWriteback.RefreshClient.All"
    And the sync application holds "PasswordWriteback.OffboardClient.All"
    When a sync cycle runs
    Then the sync cycle succeeded

  Scenario: An ordinary user cannot onboard the sync server
    Given a sync server "AZCONNECT" without a TPM
    And the sync server is installed at version "2.4.129.0" by "hybridadmin"
    And the sync server is upgraded to version "2.5.79.0"
    When the administrator "user" onboards the sync server
    Then the operation failed saying "Authorization_RequestDenied"
    And the connector identity type is ServiceAccount

  Scenario: Versions older than 2.5.3.0 cannot onboard
    Given a sync server "OLDSYNC" without a TPM
    And the sync server is installed at version "2.4.129.0" by "hybridadmin"
    When the administrator "hybridadmin" onboards the sync server
    Then the operation failed saying "upgrade to 2.5.3.0 or later"
    And the connector identity type is ServiceAccount

  @tpm
  Scenario: BYOC with a certificate whose key is in the TPM
    Given a sync server "AZCONNECT" with a TPM
    And the sync server is installed at version "2.4.129.0" by "hybridadmin"
    And the sync server is upgraded to version "2.5.79.0"
    And an administrator's certificate "byoc" in LOCAL_MACHINE with its key in the TPM
    When the administrator "hybridadmin" onboards the sync server with certificate "byoc"
    Then the operation succeeded
    And the connector identity type is Application
    And the connector credential shows the certificate managed by "BYOC" with its key in TPM
    When the scheduler runs
    Then the scheduler run logged no event 1014
    And the sync cycle succeeded

  Scenario: BYOC with a software key works and warns that it is not in a TPM
    Given a sync server "AZCONNECT" without a TPM
    And the sync server is installed at version "2.4.129.0" by "hybridadmin"
    And the sync server is upgraded to version "2.5.79.0"
    And an administrator's certificate "byoc" in LOCAL_MACHINE with a software key
    When the administrator "hybridadmin" onboards the sync server with certificate "byoc"
    Then the operation succeeded
    When the scheduler runs
    Then the scheduler run logged event 1014
    And the sync cycle succeeded

  Scenario: BYOC refuses a certificate the sync account may not use
    Given a sync server "AZCONNECT" without a TPM
    And the sync server is installed at version "2.4.129.0" by "hybridadmin"
    And the sync server is upgraded to version "2.5.79.0"
    And an administrator's certificate "byoc" in LOCAL_MACHINE that the sync account may not use
    When the administrator "hybridadmin" onboards the sync server with certificate "byoc"
    Then the operation failed saying "is not allowed to use the private key"
    And the connector identity type is ServiceAccount

  Scenario: BYOA with every permission granted
    Given a sync server "AZCONNECT" without a TPM
    And the sync server is installed at version "2.4.129.0" by "hybridadmin"
    And the sync server is upgraded to version "2.5.79.0"
    And an administrator's certificate "byoa" in LOCAL_MACHINE with a software key
    And the administrator registers an application "ContosoSync" with certificate "byoa"
    And the administrator grants "ADSynchronization.ReadWrite.All" on "Microsoft Entra AD Synchronization Service" to the application "ContosoSync"
    When the administrator "appadmin" links the application "ContosoSync" with certificate "byoa"
    Then the operation succeeded
    And the connector identity type is Application
    And the sync server's certificate is managed by "BYOC"
    When a sync cycle runs
    Then the sync cycle succeeded

  Scenario: BYOA names the permission that is missing
    Given a sync server "AZCONNECT" without a TPM
    And the sync server is installed at version "2.4.129.0" with password writeback by "hybridadmin"
    And the sync server is upgraded to version "2.5.79.0"
    And an administrator's certificate "byoa" in LOCAL_MACHINE with a software key
    And the administrator registers an application "ContosoSync" with certificate "byoa"
    And the administrator grants "ADSynchronization.ReadWrite.All" on "Microsoft Entra AD Synchronization Service" to the application "ContosoSync"
    And the administrator grants "PasswordWriteback.OffboardClient.All" on "Microsoft password reset service" to the application "ContosoSync"
    And the administrator grants "PasswordWriteback.RefreshClient.All" on "Microsoft password reset service" to the application "ContosoSync"
    When the administrator "appadmin" links the application "ContosoSync" with certificate "byoa"
    Then the operation failed saying "missing required permissions: PasswordWriteback.RegisterClientVersion.All"
    And the connector identity type is ServiceAccount

  Scenario: Automatic onboarding within the six-hour window
    Given a sync server "AZCONNECT" without a TPM
    And the sync server is installed at version "2.4.129.0" by "hybridadmin"
    And the sync server is upgraded to version "2.5.79.0"
    When the scheduler runs
    And the clocks move forward 6 hours
    And the scheduler runs
    Then the connector identity type is Application
    And the sync server's certificate is managed by "Microsoft Entra Connect Sync"
    And the sync application holds "ADSynchronization.ReadWrite.All"
    And the sync cycle succeeded

  Scenario: Versions before 2.5.76.0 do not onboard by themselves
    Given a sync server "AZCONNECT" without a TPM
    And the sync server is installed at version "2.4.129.0" by "hybridadmin"
    And the sync server is upgraded to version "2.5.3.0"
    When the scheduler runs
    And the clocks move forward 7 hours
    And the scheduler runs
    Then the connector still uses its service account
    And the sync cycle succeeded
