@mock-only
Feature: Certificate warnings of the scheduler
  Each scheduler run checks the connector's certificate: warning 1011 when it expires in 150
  days or less, error 1012 once it has expired, both only while maintenance is enabled. A
  suspended scheduler checks nothing and rotates nothing.

  Background:
    Given a tenant
    And a sync server "AZCONNECT" without a TPM
    And the sync server is installed at version "2.4.129.0" by "hybridadmin"
    And the sync server is upgraded to version "2.5.79.0"
    And an administrator's certificate "byoc" in LOCAL_MACHINE valid for 400 days
    And the administrator "hybridadmin" onboards the sync server with certificate "byoc"

  Scenario Outline: Rotation is due at 150 days before expiry and not before; maintenance <maintenance>
    Given the scheduler setting MaintenanceEnabled is set to <maintenance>
    When the clocks move to <days> days before the certificate expires
    And the scheduler runs
    Then the scheduler run <logged> event 1011
    And the scheduler run logged no event 1012
    And the sync cycle succeeded

    Examples:
      | maintenance | days | logged    |
      | true        | 151  | logged no |
      | true        | 150  | logged    |
      | true        | 1    | logged    |
      | false       | 151  | logged no |
      | false       | 150  | logged no |
      | false       | 1    | logged no |

  Scenario: An expired certificate is an error and the sync cycle cannot authenticate
    When the clocks move to 1 day after the certificate expired
    And the scheduler runs
    Then the scheduler run logged event 1012
    And the scheduler run logged no event 1011
    And event 1012 was logged with level Error saying "expired"
    And the scheduler run logged event 906

  Scenario: With maintenance disabled an expired certificate is no error 1012, but the sync cycle still fails
    Given the scheduler setting MaintenanceEnabled is set to false
    When the clocks move to 1 day after the certificate expired
    And the scheduler runs
    Then the scheduler run logged no event 1012
    And the scheduler run logged no event 1011
    And the scheduler run logged event 906
    And the sync cycle failed saying "AADSTS700027"

  Scenario: A suspended scheduler neither warns nor rotates
    Given the scheduler setting SchedulerSuspended is set to true
    When the clocks move to 10 days before the certificate expires
    And the scheduler runs
    Then the scheduler run did nothing
    And no event 1011 was logged
