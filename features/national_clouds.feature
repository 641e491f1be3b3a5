@mock-only
Feature: National clouds
  The sync service has the same appId in every cloud, but the password reset service does not:
  93625bc8-bfe2-437a-97e0-3d0060024faa in the global cloud, 2e5ecfc8-ea79-48bd-8140-c19324acb278
  in the US Government cloud ("Arlington"), where Graph is https://graph.microsoft.us and the
  login service https://login.microsoftonline.us. Onboarding there grants the password
  writeback roles on that cloud's password reset service.

  Scenario: The client's cloud profiles name each cloud's login service and Graph
    Then the client's "global" cloud profile signs in at "https://login.microsoftonline.com" and gets tokens for Graph at "https://graph.microsoft.com"
    And the client's "usgov" cloud profile signs in at "https://login.microsoftonline.us" and gets tokens for Graph at "https://graph.microsoft.us"

  Scenario: The US Government tenant's password reset service has its own appId
    Given the tenant from fixture "usgov"
    When the administrator "hybridadmin@contosogov.onmicrosoft.us" reads the service principal of "2e5ecfc8-ea79-48bd-8140-c19324acb278"
    Then Graph answers 200
    When the administrator "hybridadmin@contosogov.onmicrosoft.us" reads the app roles of "2e5ecfc8-ea79-48bd-8140-c19324acb278"
    Then the answer lists the app roles "PasswordWriteback.OffboardClient.All, PasswordWriteback.RegisterClientVersion.All, PasswordWriteback.RefreshClient.All"
    When the administrator "hybridadmin@contosogov.onmicrosoft.us" reads the service principal of "93625bc8-bfe2-437a-97e0-3d0060024faa"
    Then Graph answers 404 with error code "Request_ResourceNotFound"

  Scenario: The global tenant's password reset service has the global appId
    Given a tenant
    When the administrator "hybridadmin@contoso.onmicrosoft.com" reads the service principal of "93625bc8-bfe2-437a-97e0-3d0060024faa"
    Then Graph answers 200
    When the administrator "hybridadmin@contoso.onmicrosoft.com" reads the service principal of "2e5ecfc8-ea79-48bd-8140-c19324acb278"
    Then Graph answers 404 with error code "Request_ResourceNotFound"

  Scenario: Graph tokens in the US Government cloud are for graph.microsoft.us
    Given the tenant from fixture "usgov"
    When "hybridadmin@contosogov.onmicrosoft.us" signs in with the password "Passw0rd!" through "14d82eec-204b-4c2f-b7e8-296a70dab67e" for "https://graph.microsoft.us/.default"
    Then a token is issued
    And the token's "aud" claim is "https://graph.microsoft.us"
    When "hybridadmin@contosogov.onmicrosoft.us" signs in with the password "Passw0rd!" through "14d82eec-204b-4c2f-b7e8-296a70dab67e" for "https://graph.microsoft.com/.default"
    Then the request is refused with AADSTS500011, error "invalid_resource" and status 400

  Scenario: Managed onboarding with password writeback in the US Government cloud
    Given the tenant from fixture "usgov"
    And a sync server "GOVSYNC" without a TPM in the usgov cloud
    And the sync server is installed at version "2.4.129.0" with password writeback by "hybridadmin"
    And the sync server is upgraded to version "2.5.79.0"
    When the administrator "hybridadmin" onboards the sync server
    Then the operation succeeded
    And the connector identity type is Application
    And the sync application holds "ADSynchronization.ReadWrite.All" on "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016"
    And the sync application holds "PasswordWriteback.RegisterClientVersion.All" on "2e5ecfc8-ea79-48bd-8140-c19324acb278"
    And the sync application holds "PasswordWriteback.RefreshClient.All" on "2e5ecfc8-ea79-48bd-8140-c19324acb278"
    And the sync application holds "PasswordWriteback.OffboardClient.All" on "2e5ecfc8-ea79-48bd-8140-c19324acb278"
    And the sync application holds nothing on "93625bc8-bfe2-437a-97e0-3d0060024faa"
    When a sync cycle runs
    Then the sync cycle succeeded

  Scenario: Managed onboarding with password writeback in the global cloud
    Given a tenant
    And a sync server "AZCONNECT" without a TPM in the global cloud
    And the sync server is installed at version "2.4.129.0" with password writeback by "hybridadmin"
    And the sync server is upgraded to version "2.5.79.0"
    When the administrator "hybridadmin" onboards the sync server
    Then the operation succeeded
    And the sync application holds "PasswordWriteback.RegisterClientVersion.All" on "93625bc8-bfe2-437a-97e0-3d0060024faa"
    And the sync application holds "PasswordWriteback.RefreshClient.All" on "93625bc8-bfe2-437a-97e0-3d0060024faa"
    And the sync application holds "PasswordWriteback.OffboardClient.All" on "93625bc8-bfe2-437a-97e0-3d0060024faa"
    And the sync application holds nothing on "2e5ecfc8-ea79-48bd-8140-c19324acb278"

  Scenario: Automatic onboarding in the US Government cloud
    Given the tenant from fixture "usgov"
    And a sync server "GOVSYNC" without a TPM in the usgov cloud
    And the sync server is installed at version "2.4.129.0" with password writeback by "hybridadmin"
    And the sync server is upgraded to version "2.5.79.0"
    When the scheduler runs
    And the clocks move forward 6 hours
    And the scheduler runs
    Then the connector identity type is Application
    And the sync application holds "ADSynchronization.ReadWrite.All" on "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016"
    And the sync application holds "PasswordWriteback.RegisterClientVersion.All" on "2e5ecfc8-ea79-48bd-8140-c19324acb278"
    And the sync application holds nothing on "93625bc8-bfe2-437a-97e0-3d0060024faa"
    And the sync cycle succeeded

  Scenario: BYOA in the US Government cloud checks the writeback roles on that cloud's service
    Given the tenant from fixture "usgov"
    And a sync server "GOVSYNC" without a TPM in the usgov cloud
    And the sync server is installed at version "2.4.129.0" with password writeback by "hybridadmin"
    And the sync server is upgraded to version "2.5.79.0"
    And an administrator's certificate "byoa" in LOCAL_MACHINE with a software key
    And the administrator registers an application "ContosoGovSync" with certificate "byoa"
    And the administrator grants "ADSynchronization.ReadWrite.All" on "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016" to the application "ContosoGovSync"
    And the administrator grants "PasswordWriteback.OffboardClient.All" on "2e5ecfc8-ea79-48bd-8140-c19324acb278" to the application "ContosoGovSync"
    And the administrator grants "PasswordWriteback.RefreshClient.All" on "2e5ecfc8-ea79-48bd-8140-c19324acb278" to the application "ContosoGovSync"
    When the administrator "appadmin" links the application "ContosoGovSync" with certificate "byoa"
    Then the operation failed saying "missing required permissions: PasswordWriteback.RegisterClientVersion.All"
    And the connector identity type is ServiceAccount
    Given the administrator grants "PasswordWriteback.RegisterClientVersion.All" on "2e5ecfc8-ea79-48bd-8140-c19324acb278" to the application "ContosoGovSync"
    When the administrator "appadmin" links the application "ContosoGovSync" with certificate "byoa"
    Then the operation succeeded
    And the connector identity type is Application
    When a sync cycle runs
    Then the sync cycle succeeded

  Scenario: In the US Government cloud the password reset service is made on demand under its own appId
    Given the tenant from fixture "usgov"
    And the administrator "admin@contosogov.onmicrosoft.us" deletes the service principal of "2e5ecfc8-ea79-48bd-8140-c19324acb278"
    When the administrator "admin@contosogov.onmicrosoft.us" creates the service principal of "93625bc8-bfe2-437a-97e0-3d0060024faa"
    Then Graph answers 400 with error code "Request_BadRequest"
    When the administrator "admin@contosogov.onmicrosoft.us" creates the service principal of "2e5ecfc8-ea79-48bd-8140-c19324acb278"
    Then Graph answers 201
    And the answer's "displayName" is "Microsoft password reset service"
