@mock-only
Feature: Cleaning up after a rotation whose old credential could not be removed
  When removeKey of the old credential fails, the rotation still succeeds with the new key, an
  error event names the old credential's CertificateId, and Remove-EntraApplicationKey removes
  it later.

  Scenario: removeKey fails, then Remove-EntraApplicationKey cleans up
    Given a tenant
    And a sync server "AZCONNECT" without a TPM
    And the sync server is installed at version "2.5.79.0" by "hybridadmin"
    And the tenant refuses the next 1 removeKey request
    When the clocks move to 150 days before the certificate expires
    And the scheduler runs
    Then the certificate was rotated
    And the scheduler run logged event 1015
    And event 1015 names the old credential's CertificateId
    And event 1015 was logged with level Error saying "Remove-EntraApplicationKey -CertificateId"
    And the sync application has 2 certificate credentials
    And the sync cycle succeeded
    When the administrator removes the application key that event 1015 names
    Then the operation succeeded
    And the sync application has 1 certificate credential
    When a sync cycle runs
    Then the sync cycle succeeded
