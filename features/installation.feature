@mock-only
Feature: Installation and upgrade
  A new installation from version 2.5.3.0 on sets up the managed application and its
  certificate during installation: the connector starts on its application identity. Older
  versions install with the legacy service account. An in-place upgrade keeps the connector's
  identity unless the administrator ticks "Configure application-based authentication"; without
  it the upgrade ends with a recommendation, and the switch can be made later.

  Background:
    Given a tenant

  @tpm
  Scenario: A new installation is set up with the managed application, its key in the TPM
    Given a sync server "AZCONNECT" with a TPM
    And the sync server is installed at version "2.5.79.0" by "hybridadmin"
    Then the connector identity type is Application
    And the connector credential shows the certificate managed by "Microsoft Entra Connect Sync" with its key in TPM
    And the tenant has the sync application named after the server
    And the sync application holds "ADSynchronization.ReadWrite.All"
    And the sync application has 1 certificate credential
    And event 1018 was logged with level Information saying "Application"
    And the tenant has no user "Sync_AZCONNECT_"
    When a sync cycle runs
    Then the sync cycle succeeded

  Scenario Outline: Version <version> installs <identity>
    Given a sync server "AZCONNECT" without a TPM
    And the sync server is installed at version "<version>" by "hybridadmin"
    Then the connector identity type is <type>
    When a sync cycle runs
    Then the sync cycle succeeded

    Examples:
      | version     | identity                      | type           |
      | 2.5.2.65535 | with the legacy account       | ServiceAccount |
      | 2.5.3.0     | with the managed application  | Application    |

  Scenario: An older installation has the legacy account
    Given a sync server "AZCONNECT" without a TPM
    And the sync server is installed at version "2.4.129.0" by "hybridadmin"
    Then the connector identity type is ServiceAccount
    And the tenant has a user "Sync_AZCONNECT_" with the Directory Synchronization Accounts role

  Scenario: An ordinary user cannot install the sync server
    Given a sync server "AZCONNECT" without a TPM
    When the sync server is installed at version "2.5.79.0" by "user"
    Then the operation failed saying "Authorization_RequestDenied"
    And the sync server is not installed

  Scenario: An upgrade without the checkbox keeps the service account and recommends the switch
    Given a sync server "AZCONNECT" without a TPM
    And the sync server is installed at version "2.4.129.0" by "hybridadmin"
    When the sync server is upgraded to version "2.5.79.0"
    Then the operation succeeded
    And the sync server's version is "2.5.79.0"
    And the connector identity type is ServiceAccount
    And the upgrade recommended configuring application-based authentication
    When the administrator "hybridadmin" onboards the sync server
    Then the operation succeeded
    And the connector identity type is Application

  Scenario: An upgrade to a version without application authentication recommends nothing
    Given a sync server "AZCONNECT" without a TPM
    And the sync server is installed at version "2.4.129.0" by "hybridadmin"
    When the sync server is upgraded to version "2.5.2.65535"
    Then the operation succeeded
    And the connector identity type is ServiceAccount
    And the upgrade recommended nothing

  Scenario: An upgrade with the checkbox switches to the managed application
    Given a sync server "AZCONNECT" without a TPM
    And the sync server is installed at version "2.4.129.0" by "hybridadmin"
    When the sync server is upgraded to version "2.5.79.0" with application-based authentication configured by "hybridadmin"
    Then the operation succeeded
    And the connector identity type is Application
    And the connector credential shows the certificate managed by "Microsoft Entra Connect Sync" with its key in Software
    And the upgrade recommended nothing
    When a sync cycle runs
    Then the sync cycle succeeded

  Scenario Outline: The checkbox needs 2.5.3.0: upgrading to <version> with it <outcome>
    Given a sync server "AZCONNECT" without a TPM
    And the sync server is installed at version "2.4.129.0" by "hybridadmin"
    When the sync server is upgraded to version "<version>" with application-based authentication configured by "hybridadmin"
    Then the operation <result>
    And the connector identity type is <type>
    And the sync server's version is "<installed>"

    Examples:
      | version     | outcome     | result                                         | type           | installed |
      | 2.5.2.65535 | is refused  | failed saying "version 2.5.2.65535 cannot use" | ServiceAccount | 2.4.129.0 |
      | 2.5.3.0     | switches    | succeeded                                      | Application    | 2.5.3.0   |

  Scenario: The checkbox with a refused sign-in changes nothing
    Given a sync server "AZCONNECT" without a TPM
    And the sync server is installed at version "2.4.129.0" by "hybridadmin"
    When the sync server is upgraded to version "2.5.79.0" with application-based authentication configured by "user"
    Then the operation failed saying "Authorization_RequestDenied"
    And the connector identity type is ServiceAccount
    And the sync server's version is "2.4.129.0"

  Scenario: An upgrade needs a later version
    Given a sync server "AZCONNECT" without a TPM
    And the sync server is installed at version "2.5.79.0" by "hybridadmin"
    When the sync server is upgraded to version "2.5.79.0"
    Then the operation failed saying "version 2.5.79.0 is installed; an in-place upgrade needs a later version"
