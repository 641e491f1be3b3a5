@tpm @mock-only
Feature: Keys in the TPM
  When the sync server has a TPM, the key of the certificate Connect Sync manages is created in
  it, non-exportable (fixedTPM, fixedParent), and only the TPM-wrapped blob is kept on disk.
  The key signs client assertions and proofs in the TPM, across as many rotations as needed,
  however few object slots the TPM has. An administrator's certificate (BYOC) whose key is not
  in a TPM works, with warning 1014.

  Background:
    Given a tenant
    And a sync server "AZCONNECT" with a TPM
    And the sync server is installed at version "2.4.129.0" by "hybridadmin"
    And the sync server is upgraded to version "2.5.79.0"

  Scenario: The managed key is created in the TPM and cannot leave it
    When the administrator "hybridadmin" onboards the sync server
    Then the operation succeeded
    And the connector credential shows the certificate managed by "Microsoft Entra Connect Sync" with its key in TPM
    And the connector's private key reads back from the TPM as fixedTPM and fixedParent
    And the connector's private key is stored only as the TPM-wrapped blob
    And no file in the sync server's state directory holds a private key

  Scenario: The certificate with its TPM key gets tokens
    Given the administrator "hybridadmin" onboards the sync server
    When the sync server requests a token for "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/.default" with its certificate
    Then a token is issued with the roles "ADSynchronization.ReadWrite.All"
    When a sync cycle runs
    Then the sync cycle succeeded

  Scenario: Rotations make more TPM keys than swtpm has object slots
    Given the administrator "hybridadmin" onboards the sync server
    When the sync server rotates its credential on demand 5 times
    Then the certificate was rotated
    And the old certificate left the sync server
    And the sync application has 1 certificate credential
    And the connector's private key reads back from the TPM as fixedTPM and fixedParent
    And the connector's private key is stored only as the TPM-wrapped blob
    And no file in the sync server's state directory holds a private key
    When the sync server requests a token for "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/.default" with its certificate
    Then a token is issued with the roles "ADSynchronization.ReadWrite.All"
    When a sync cycle runs
    Then the sync cycle succeeded

  Scenario: Administrators' certificates with TPM keys side by side with the managed one
    Given an administrator's certificate "first" in LOCAL_MACHINE with its key in the TPM
    And an administrator's certificate "second" in LOCAL_MACHINE with its key in the TPM
    And an administrator's certificate "third" in LOCAL_MACHINE with its key in the TPM
    And an administrator's certificate "fourth" in LOCAL_MACHINE with its key in the TPM
    When the administrator "hybridadmin" onboards the sync server with certificate "first"
    Then the operation succeeded
    When the sync server rotates its credential to certificate "fourth"
    Then the operation succeeded
    And the certificate was rotated
    And the key of the administrator's certificate "second" reads back from the TPM as fixedTPM and fixedParent
    And the key of the administrator's certificate "fourth" reads back from the TPM as fixedTPM and fixedParent
    And no file in the sync server's state directory holds a private key
    When a sync cycle runs
    Then the sync cycle succeeded

  Scenario: No warning 1014 when the administrator's certificate has its key in the TPM
    Given an administrator's certificate "byoc" in LOCAL_MACHINE with its key in the TPM
    When the administrator "hybridadmin" onboards the sync server with certificate "byoc"
    Then the operation succeeded
    And the connector credential shows the certificate managed by "BYOC" with its key in TPM
    And the key of the administrator's certificate "byoc" reads back from the TPM as fixedTPM and fixedParent
    When the scheduler runs
    Then the scheduler run logged no event 1014
    And no event 1014 was logged
    And the sync cycle succeeded

  Scenario: Warning 1014 when the administrator's certificate has a software key, even with a TPM present
    Given an administrator's certificate "byoc" in LOCAL_MACHINE with a software key
    When the administrator "hybridadmin" onboards the sync server with certificate "byoc"
    Then the operation succeeded
    And the connector credential shows the certificate managed by "BYOC" with its key in Software
    When the scheduler runs
    Then the scheduler run logged event 1014
    And event 1014 was logged with level Warning saying "TPM"
    And the sync cycle succeeded
    And the sync server's state directory holds a private key only in 1 owner-only key file

  Scenario: A TPM that stopped: the managed key falls back to software, with warning 1020
    Given the sync server's TPM stops
    When the administrator "hybridadmin" onboards the sync server
    Then the operation succeeded
    And the connector credential shows the certificate managed by "Microsoft Entra Connect Sync" with its key in Software
    And event 1020 was logged with level Warning saying "The TPM could not be used"
    And the sync server's state directory holds a private key only in 1 owner-only key file
    When a sync cycle runs
    Then the sync cycle succeeded

  Scenario: A TPM that refuses the key template: the managed key falls back to software, with warning 1020
    Given the sync server's TPM refuses the key template
    When the administrator "hybridadmin" onboards the sync server
    Then the operation succeeded
    And the connector credential shows the certificate managed by "Microsoft Entra Connect Sync" with its key in Software
    And event 1020 was logged with level Warning saying "key size is not supported"
    When a sync cycle runs
    Then the sync cycle succeeded

  Scenario: A TPM that stops after onboarding: the administrator's rotation moves the key to software
    Given the administrator "hybridadmin" onboards the sync server
    And the sync server's TPM stops
    When the sync server rotates its credential on demand with the administrator "hybridadmin"
    Then the operation succeeded
    And the certificate was rotated
    And the connector credential shows the certificate managed by "Microsoft Entra Connect Sync" with its key in Software
    And event 1020 was logged with level Warning saying "The TPM could not be used"
    When a sync cycle runs
    Then the sync cycle succeeded
